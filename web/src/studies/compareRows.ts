/** The compare page's pure parts: which rows to show, which cells differ, what can be overlaid. */
import type { ComparedColumn, ComparedField, Comparison } from "../api/types";

/** The rows to show: all of them, or only those that differ between the jobs. */
export function visibleRows<T extends { differs: boolean }>(rows: readonly T[], onlyDifferences: boolean): T[] {
  return onlyDifferences ? rows.filter((row) => row.differs) : [...rows];
}

type Cell = ComparedField["values"][number];

/**
 * For each job, whether its value differs from the first job's (the one the others are read
 * against): the cells to highlight in a row that differs.
 */
export function differsFromFirst(values: readonly Cell[]): boolean[] {
  const first = values[0];
  return values.map((value, i) => i > 0 && !sameValue(value, first));
}

function sameValue(a: Cell, b: Cell): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return a === b;
}

/** For each job, whether its statistic differs from the first job's (a missing column differs too). */
export function statsDifferFromFirst(column: ComparedColumn, stat: "count" | "min" | "max" | "mean" | "last"): boolean[] {
  const values = column.stats.map((stats) => (stats ? stats[stat] : null));
  return differsFromFirst(values);
}

/** The CSV outputs that can be overlaid, each with its numeric columns, as the comparison summarised them. */
export function overlayOptions(comparison: Comparison): Map<string, string[]> {
  const options = new Map<string, string[]>();
  for (const { output, column } of comparison.columns) {
    const columns = options.get(output) ?? [];
    if (!columns.includes(column)) columns.push(column);
    options.set(output, columns);
  }
  return options;
}

/** "A1B2…" → the first 8 characters of an MD5, for a table cell (the whole one is in its title). */
export const shortMd5 = (md5: string | null): string => (md5 ? md5.slice(0, 8) : "—");

/** The URL of the comparison of these jobs, or of a sweep's members. */
export function compareUrl(target: { jobIds: readonly string[] } | { sweepId: string }): string {
  const params = new URLSearchParams();
  if ("sweepId" in target) params.set("sweep_id", target.sweepId);
  else for (const id of target.jobIds) params.append("job", id);
  return `/compare?${params.toString()}`;
}

/** The most jobs one comparison takes (the API's limit), and the fewest. */
export const MIN_COMPARED = 2;
export const MAX_COMPARED = 50;

export const canCompare = (count: number): boolean => count >= MIN_COMPARED && count <= MAX_COMPARED;

const PALETTE = ["#1f4fd1", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#e67700", "#495057"];

/** The colour of the i-th run's line (and its swatch): a fixed palette, then hues spread around the circle. */
export function runColor(index: number): string {
  if (index < PALETTE.length) return PALETTE[index];
  const hue = Math.round((index * 137.508) % 360);
  return `hsl(${hue} 65% 38%)`;
}

/** "Run 3": how the compare page names a job in its columns (the jobs' order, from 1). */
export const runLabel = (index: number): string => `Run ${index + 1}`;
