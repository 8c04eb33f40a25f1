// Which chart a result's shape suggests: time buckets with a measure → line; a category with a measure →
// bar; anything else → none. The user can switch or turn it off.
import type { Cell, Column } from "./api";

export type ChartKind = "line" | "bar";
export interface ChartPlan {
  kind: ChartKind;
  x: number;
  ys: number[];
}

const NUMERIC = /^(tinyint|smallint|int|integer|bigint|float|real|double|decimal)/i;
const TEMPORAL = /^(timestamp|date)/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([ T]\d{2}(:\d{2}){0,2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** Bars beyond this many stop being readable; the table has them all. */
export const MAX_BARS = 40;

export function isNumeric(c: Column): boolean {
  return NUMERIC.test(c.type);
}

function isTemporal(c: Column, rows: Cell[][], i: number): boolean {
  if (TEMPORAL.test(c.type)) return true;
  if (!/^(string|varchar)/i.test(c.type) || rows.length === 0) return false;
  return rows.every((r) => r[i] === null || (typeof r[i] === "string" && ISO_TIME.test(r[i] as string)));
}

/** The chart for a result, or null when its shape suggests none. */
export function planChart(columns: Column[], rows: Cell[][], prefer?: ChartKind): ChartPlan | null {
  if (rows.length < 2 || columns.length < 2) return null;
  const measures = columns.map((c, i) => (isNumeric(c) ? i : -1)).filter((i) => i >= 0);
  const time = columns.findIndex((c, i) => isTemporal(c, rows, i));
  if (time >= 0) {
    const ys = measures.filter((i) => i !== time);
    if (ys.length > 0) return { kind: prefer ?? "line", x: time, ys };
  }
  const category = columns.findIndex((c) => !isNumeric(c));
  if (category >= 0 && measures.length > 0) {
    return { kind: prefer ?? "bar", x: category, ys: measures.slice(0, 3) };
  }
  return null;
}

/** A cell as the text a person reads: nested values as JSON, null as empty. */
export function cellText(v: Cell): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
