import type { PanelItem, RowItem } from './dashboard-panels.mjs';
export interface Series { legend: string; labels: Record<string, string>; values: Array<[number, number | null]> }
export interface TargetResult { refId: string; expr: string; legendFormat?: string; query: string; series: Series[]; error?: string }
export type PanelResult = Omit<PanelItem, 'targets'> & { targets: TargetResult[] };
export interface SnapshotPage { title: string; subtitle: string; startS: number; endS: number; stepS: number; items: Array<RowItem | PanelResult> }
export const GRID: { widthPx: number; rowPx: number; gapPx: number };
export function panelHasData(panel: PanelResult): boolean;
export function renderSnapshotPage(page: SnapshotPage): string;
