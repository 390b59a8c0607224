export const DASHBOARD_FILE: string;
/** The processes' event-loop sampling interval, s (EVENT_LOOP_SAMPLE_MS / 1000). */
export const EVENT_LOOP_SAMPLE_S: number;
export function buildDashboard(): Record<string, unknown>;
export function renderDashboard(): string;
