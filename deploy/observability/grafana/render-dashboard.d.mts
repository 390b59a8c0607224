export const DASHBOARD_FILE: string;
export function buildDashboard(): Record<string, unknown>;
export function renderDashboard(): string;
