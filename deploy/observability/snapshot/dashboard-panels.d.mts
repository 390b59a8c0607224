export interface GridPos { x: number; y: number; w: number; h: number }
export interface DashboardTarget { refId: string; expr: string; legendFormat?: string }
export interface RowItem { kind: 'row'; title: string; gridPos: GridPos }
export interface PanelItem { kind: 'panel'; id: number; type: string; title: string; description?: string; unit: string; gridPos: GridPos; targets: DashboardTarget[] }
export type LayoutItem = RowItem | PanelItem;
export function grafanaVariables(timing: { scrapeIntervalS: number; stepS: number; rangeS: number }): Record<string, string>;
export function substituteVariables(expr: string, vars: Record<string, string>): string;
export function layoutItems(dashboard: { panels: Array<Record<string, any>> }): LayoutItem[];
export function gridBox(gridPos: GridPos, grid: { widthPx: number; rowPx: number; gapPx: number }): { left: number; top: number; width: number; height: number };
export function legendName(legendFormat: string | undefined, labels: Record<string, string>, expr: string): string;
export function formatValue(unit: string, v: number): string;
export function niceTicks(min: number, max: number, count?: number): number[];
