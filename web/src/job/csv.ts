import Papa from "papaparse";
import { toNumber } from "./cells";

export { toNumber };

/** A row as written in the file: cell text by column name. */
export type Row = Record<string, string>;

export interface CsvData {
  columns: string[];
  rows: Row[];
  /** Columns whose non-empty cells are (almost) all numbers: the ones that can be plotted. */
  numericColumns: string[];
  /** Problems papaparse reported (ragged rows...), for a note under the table. */
  warnings: string[];
}

/** A CSV file with a header row. Cells stay as written (the table shows them so); numbers are read for plots. */
export function parseCsv(text: string): CsvData {
  const result = Papa.parse<Row>(text.trim(), {
    header: true,
    skipEmptyLines: "greedy",
    transformHeader: (header) => header.trim(),
  });
  const columns = (result.meta.fields ?? []).filter((c) => c !== "");
  const rows = result.data;
  const numericColumns = columns.filter((column) => {
    let numbers = 0;
    let filled = 0;
    for (const row of rows) {
      const cell = row[column];
      if (cell === undefined || cell.trim() === "") continue;
      filled += 1;
      if (toNumber(cell) !== null) numbers += 1;
    }
    return filled > 0 && numbers / filled >= 0.9;
  });
  const warnings = [...new Set(result.errors.slice(0, 5).map((e) => `row ${(e.row ?? 0) + 2}: ${e.message}`))];
  return { columns, rows, numericColumns, warnings };
}

export type Point = Record<string, number | null>;

/** The rows as numbers of the given columns, those without an x value dropped, sorted by x. */
export function toPoints(rows: Row[], x: string, ys: string[]): Point[] {
  const points: Point[] = [];
  for (const row of rows) {
    const xv = toNumber(row[x]);
    if (xv === null) continue;
    const point: Point = { [x]: xv };
    for (const y of ys) point[y] = toNumber(row[y]);
    points.push(point);
  }
  return points.sort((a, b) => (a[x] as number) - (b[x] as number));
}

/** At most `max` rows, evenly spread, first and last kept: enough for a line chart. */
export function downsample<T>(rows: T[], max: number): T[] {
  if (rows.length <= max) return rows;
  const step = (rows.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => rows[Math.round(i * step)]);
}

/** The y columns to show first: the first numeric column after x. */
export function defaultSeries(numeric: string[], x: string): string[] {
  const first = numeric.find((c) => c !== x);
  return first ? [first] : [];
}
