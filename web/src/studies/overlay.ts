/** The overlay plot's lines, from each run's CSV text (this module brings the CSV library: load it lazily). */
import { toNumber } from "../job/cells";
import { parseCsv } from "../job/csv";

/** What the overlay's x axis is: the file's first column, or the row number. */
export type XAxisChoice = "first" | "row";

export interface OverlayLine {
  /** The x axis's name: the first column's, or "row". */
  x: string;
  points: { x: number; y: number }[];
}

/**
 * One job's line for the overlay plot: `column` of its CSV text against the first column (when that
 * is a number column other than `column`) or the row number (from 1). Rows without a y value are
 * left out; rows are kept in the file's order.
 */
export function overlayLine(text: string, column: string, xAxis: XAxisChoice): OverlayLine {
  const data = parseCsv(text);
  const first = data.columns[0];
  const byFirst = xAxis === "first" && first !== undefined && first !== column && data.numericColumns.includes(first);
  const points: { x: number; y: number }[] = [];
  data.rows.forEach((row, i) => {
    const y = toNumber(row[column]);
    const x = byFirst ? toNumber(row[first]) : i + 1;
    if (y !== null && x !== null) points.push({ x, y });
  });
  return { x: byFirst ? first : "row", points };
}

/** At most `max` points of a line, evenly spread, first and last kept. */
export function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)]);
}
