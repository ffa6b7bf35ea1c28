/**
 * The series a running job writes: CSV text, a header row naming the columns (the first is x), then
 * one row per point, appended as the run goes. The page reads it piece by piece (see LogTail) and
 * keeps at most MAX_SERIES_POINTS points, evenly spread over all it read: every `stride`-th row,
 * the stride doubling (and every other point kept going) whenever the points would be too many.
 */
import type { LogTail, StreamInfo } from "../api/types";
import { splitCsvLine, toNumber } from "./cells";
import { pieceText, streamBehind } from "./streamPiece";

export const MAX_SERIES_POINTS = 5_000;
/** A series more than this far past what the page read is read on from this far before its end. */
export const SERIES_CATCH_UP_BYTES = 1024 * 1024;

export type SeriesRow = (number | null)[];

export interface SeriesState {
  /** The columns, from the header row; null until it is read. */
  columns: string[] | null;
  /** Storage no longer keeps the header row: the columns are named by position. */
  headerLost: boolean;
  /** The offset to read from next; null before the first piece. */
  next: number | null;
  /** The last line read, not ended yet. */
  pending: string;
  /** Reading resumed in the middle of a line: text is skipped up to the next line. */
  midLine: boolean;
  /** Data rows read (with a number for x). */
  rows: number;
  /** Every `stride`-th row is kept. */
  stride: number;
  kept: SeriesRow[];
  /** The latest row, shown even when not kept. */
  last: SeriesRow | null;
  /** Rows between the first and the latest were never read (the page jumped ahead, or storage dropped them). */
  skipped: boolean;
  /** The job has finished and the series was read to its end. */
  complete: boolean;
}

export const emptySeries: SeriesState = Object.freeze({
  columns: null,
  headerLost: false,
  next: null,
  pending: "",
  midLine: false,
  rows: 0,
  stride: 1,
  kept: [],
  last: null,
  skipped: false,
  complete: false,
});

/** Where to read the series from: from its start (its header), then on, jumping ahead when far behind. */
export function seriesReadOffset(state: SeriesState, stream: StreamInfo | undefined, catchUp = SERIES_CATCH_UP_BYTES): number {
  if (state.next === null) return 0;
  if (stream && stream.size - state.next > catchUp) return Math.max(stream.truncated_before, stream.size - catchUp);
  return state.next;
}

export function seriesBehind(state: SeriesState, stream: StreamInfo | undefined): boolean {
  return streamBehind(state.next, stream);
}

/** The series with a piece added; the same state when the piece changes nothing. */
export function appendSeries(state: SeriesState, piece: LogTail, max = MAX_SERIES_POINTS): SeriesState {
  let pending = state.pending;
  let skipped = state.skipped;
  let headerLost = state.headerLost;
  const read = pieceText(state.next, piece, state.midLine);
  const added = read.text;
  const midLine = read.midLine;
  if (read.gap) {
    pending = "";
    if (state.columns === null) headerLost = true;
    else skipped = true;
  }

  const next = read.next;
  if (!added && pending === state.pending && next === state.next && piece.complete === state.complete && midLine === state.midLine) {
    return state;
  }

  const text = pending + added;
  const end = piece.complete ? text.length : text.lastIndexOf("\n") + 1;
  const lines = text.slice(0, end);
  const result: SeriesState = { ...state, next, pending: text.slice(end), midLine, skipped, headerLost, complete: piece.complete };
  if (!lines.trim()) return result;

  const parsed = lines
    .split("\n")
    .map((line) => line.replace(/\r$/, ""))
    .filter((line) => line.trim() !== "")
    .map(splitCsvLine);
  let kept = state.kept;
  let { rows, stride, last, columns } = state;
  for (const cells of parsed) {
    if (columns === null && !headerLost) {
      columns = cells.map((cell, i) => cell.trim() || `column ${i + 1}`);
      continue;
    }
    columns ??= cells.map((_, i) => `column ${i + 1}`);
    const row = columns.map((_, i) => toNumber(cells[i]));
    if (row[0] === null) continue;
    if (rows % stride === 0) {
      if (kept === state.kept) kept = kept.slice();
      kept.push(row);
      if (kept.length >= max) {
        kept = kept.filter((_, i) => i % 2 === 0);
        stride *= 2;
      }
    }
    rows += 1;
    last = row;
  }
  return { ...result, columns, kept, rows, stride, last };
}

export type SeriesPoint = Record<string, number | null>;

/** The points to plot: the kept rows and the latest one, as objects keyed by column. */
export function seriesPoints(state: SeriesState): SeriesPoint[] {
  const { columns, kept, last } = state;
  if (!columns) return [];
  const rows = last && kept[kept.length - 1] !== last ? [...kept, last] : kept;
  return rows.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i] ?? null])));
}

/**
 * Whether a column reads better on a log scale: all its values above 0, spanning more than two
 * decades (a residual falling from 1 to 1e-6).
 */
export function fitsLogScale(values: Iterable<number | null | undefined>): boolean {
  let least = Infinity;
  let most = -Infinity;
  let count = 0;
  for (const value of values) {
    if (value === null || value === undefined) continue;
    if (!(value > 0)) return false;
    least = Math.min(least, value);
    most = Math.max(most, value);
    count += 1;
  }
  return count >= 2 && most / least > 100;
}

/** Powers of ten covering [least, most]: the domain and ticks of a log axis. */
export function decades(least: number, most: number): number[] {
  const from = Math.floor(Math.log10(least));
  const to = Math.max(from + 1, Math.ceil(Math.log10(most)));
  return Array.from({ length: to - from + 1 }, (_, i) => 10 ** (from + i));
}
