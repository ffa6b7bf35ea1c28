/**
 * Reading a stream (a log, the series) piece by piece from byte offsets: what one piece adds to what
 * the page holds, shared by the log buffer and the series.
 */
import type { LogTail, StreamInfo } from "../api/types";
import { indexAfterBytes } from "./utf8";

/** Whether the stream has bytes past `next`, the offset the page reads from next (null: none read yet). */
export function streamBehind(next: number | null, stream: StreamInfo | undefined): boolean {
  if (!stream || stream.size === 0) return false;
  return next === null || next < stream.size;
}

/**
 * What `piece` adds to a page that holds its stream up to `next`: the text past the bytes it holds
 * (`gap`: the piece starts later, so what the page holds does not continue here), whether the page is
 * then in the middle of a line, skipped up to the next one (`midLine` as given, or after a gap), and
 * the offset to read from after it (`next`).
 */
export function pieceText(
  next: number | null,
  piece: LogTail,
  midLine: boolean,
): { text: string; gap: boolean; midLine: boolean; next: number } {
  let text = piece.text;
  let gap = false;
  if (next !== null && piece.offset < next) {
    text = text.slice(indexAfterBytes(text, next - piece.offset)); // bytes the page holds already
  } else if (piece.offset > (next ?? 0)) {
    gap = true;
    midLine = true;
  }
  if (midLine && text) {
    const newline = text.indexOf("\n");
    if (newline < 0) text = "";
    else {
      text = text.slice(newline + 1);
      midLine = false;
    }
  }
  return { text, gap, midLine, next: Math.max(piece.next_offset, next ?? 0) };
}
