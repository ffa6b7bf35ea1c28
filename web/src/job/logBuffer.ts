/**
 * A log as a page holds it while following a job: the latest lines, at most LOG_CAP_BYTES of them,
 * and where to read on. Pieces come from the API by byte offset (see LogTail); a piece that starts
 * later than the page had read (the page jumped ahead, or storage no longer keeps older bytes)
 * starts the text afresh from the next whole line.
 */
import type { LogTail, StreamInfo } from "../api/types";
import { pieceText, streamBehind } from "./streamPiece";
import { indexAfterBytes, utf8Length } from "./utf8";

/** What the page holds of each log, in bytes of UTF-8. */
export const LOG_CAP_BYTES = 256 * 1024;

export interface LogBuffer {
  /** The latest whole lines (and the line being written), at most the cap in bytes. */
  text: string;
  /** The size of `text` in bytes. */
  bytes: number;
  /** The offset to read from next; null before the first piece. */
  next: number | null;
  /** Lines before `text` exist that the page does not hold. */
  dropped: boolean;
  /** Reading resumed in the middle of a line: text is skipped up to the next line. */
  midLine: boolean;
  /** The job has finished and the log was read to its end. */
  complete: boolean;
}

export const emptyLog: LogBuffer = Object.freeze({
  text: "",
  bytes: 0,
  next: null,
  dropped: false,
  midLine: false,
  complete: false,
});

/**
 * Where to read a log from. A log met for the first time, or one that grew more than `cap` past
 * what the page has read, is read from `cap` bytes before its end (or where storage keeps it from):
 * the page would drop anything earlier at once.
 */
export function logReadOffset(buffer: LogBuffer, stream: StreamInfo | undefined, cap = LOG_CAP_BYTES): number {
  const latest = stream ? Math.max(0, stream.truncated_before, stream.size - cap) : 0;
  if (buffer.next === null) return latest;
  return stream && stream.size - buffer.next > cap ? latest : buffer.next;
}

/** Whether the log has bytes past what the page has read. */
export function logBehind(buffer: LogBuffer, stream: StreamInfo | undefined): boolean {
  return streamBehind(buffer.next, stream);
}

/** The buffer with a piece of its log added; the same buffer when the piece changes nothing. */
export function appendLog(buffer: LogBuffer, piece: LogTail, cap = LOG_CAP_BYTES): LogBuffer {
  let text = buffer.text;
  let bytes = buffer.bytes;
  let dropped = buffer.dropped;
  const read = pieceText(buffer.next, piece, buffer.midLine);
  let added = read.text;
  const midLine = read.midLine;
  if (read.gap) {
    // What the page holds does not continue here.
    text = "";
    bytes = 0;
    dropped = true;
  }

  const next = read.next;
  if (!added && text === buffer.text && next === buffer.next && piece.complete === buffer.complete && midLine === buffer.midLine) {
    return buffer;
  }
  text += added;
  bytes += utf8Length(added);
  if (bytes > cap) {
    const cut = cutForCap(text, bytes - cap);
    bytes -= utf8Length(text.slice(0, cut));
    text = text.slice(cut);
    dropped = true;
  }
  return { text, bytes, next, dropped, midLine, complete: piece.complete };
}

/**
 * Where to cut the text so that at least `excess` bytes go: after the line ending that comes first
 * at or past them, so that whole lines are dropped (within a line only when it alone is too long).
 */
function cutForCap(text: string, excess: number): number {
  const least = indexAfterBytes(text, excess);
  if (least > 0 && text[least - 1] === "\n") return least;
  const newline = text.indexOf("\n", least);
  return newline < 0 ? least : newline + 1;
}
