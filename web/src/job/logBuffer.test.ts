import { describe, expect, it } from "vitest";
import type { LogTail } from "../api/types";
import { appendLog, emptyLog, logBehind, logReadOffset, LOG_CAP_BYTES } from "./logBuffer";
import { indexAfterBytes, utf8Length } from "./utf8";

const piece = (offset: number, text: string, complete = false, truncated_before = 0): LogTail => ({
  stream: "stdout",
  offset,
  next_offset: offset + utf8Length(text),
  text,
  complete,
  truncated_before,
});

describe("utf8 lengths", () => {
  it("counts bytes as UTF-8 and finds where a number of bytes ends", () => {
    expect(utf8Length("abc")).toBe(3);
    expect(utf8Length("°C")).toBe(3);
    expect(utf8Length("€")).toBe(3);
    expect(utf8Length("𝜃")).toBe(4);
    expect(utf8Length(new TextDecoder().decode(new TextEncoder().encode("T = 20 °C, 𝜃 ≈ 1")))).toBe(
      new TextEncoder().encode("T = 20 °C, 𝜃 ≈ 1").length,
    );
    expect(indexAfterBytes("a°b", 1)).toBe(1);
    expect(indexAfterBytes("a°b", 3)).toBe(2);
    expect(indexAfterBytes("a°b", 2)).toBe(2); // within the ° : after it
    expect(indexAfterBytes("ab", 10)).toBe(2);
  });
});

describe("a log buffer", () => {
  it("appends pieces that follow each other and reads on from their end", () => {
    let log = appendLog(emptyLog, piece(0, "step 1\nstep"));
    log = appendLog(log, piece(log.next!, " 2\n"));
    expect(log.text).toBe("step 1\nstep 2\n");
    expect(log.next).toBe(14);
    expect(log.bytes).toBe(14);
    expect(log.dropped).toBe(false);
    expect(logReadOffset(log, { size: 20, truncated_before: 0 })).toBe(14);
  });

  it("stays the same object when a piece brings nothing", () => {
    const log = appendLog(emptyLog, piece(0, "a\n"));
    expect(appendLog(log, piece(2, ""))).toBe(log);
    expect(appendLog(log, piece(2, "", true)).complete).toBe(true);
  });

  it("skips bytes it already holds", () => {
    const log = appendLog(emptyLog, piece(0, "a°\nb"));
    expect(appendLog(log, piece(1, "°\nbc\n")).text).toBe("a°\nbc\n");
  });

  it("keeps at most the cap, dropping the oldest whole lines", () => {
    const line = (n: number) => `line ${String(n).padStart(4, "0")}\n`; // 10 bytes
    let log = emptyLog;
    for (let n = 0; n < 10; n++) log = appendLog(log, piece(log.next ?? 0, line(n)), 35);
    expect(log.text).toBe(line(7) + line(8) + line(9));
    expect(log.bytes).toBe(30);
    expect(log.dropped).toBe(true);
    expect(log.next).toBe(100);
  });

  it("cuts a single line too long for the cap", () => {
    const log = appendLog(emptyLog, piece(0, "x".repeat(50)), 20);
    expect(log.text).toBe("x".repeat(20));
    expect(log.dropped).toBe(true);
  });

  it("starts a long log a cap before its end, from the next whole line", () => {
    const stream = { size: 1_000_000, truncated_before: 0 };
    expect(logReadOffset(emptyLog, stream)).toBe(1_000_000 - LOG_CAP_BYTES);
    expect(logReadOffset(emptyLog, { size: 100, truncated_before: 0 })).toBe(0);
    expect(logReadOffset(emptyLog, undefined)).toBe(0);
    const log = appendLog(emptyLog, piece(500, "ne 3\nline 4\n"));
    expect(log.text).toBe("line 4\n");
    expect(log.dropped).toBe(true);
    expect(log.midLine).toBe(false);
  });

  it("reads from where storage keeps the log when that is later", () => {
    expect(logReadOffset(emptyLog, { size: 300_000, truncated_before: 200_000 })).toBe(200_000);
  });

  it("jumps ahead when the log grew more than the cap past what it read", () => {
    const log = appendLog(emptyLog, piece(0, "a\n"));
    expect(logReadOffset(log, { size: 2 + LOG_CAP_BYTES, truncated_before: 0 })).toBe(2);
    expect(logReadOffset(log, { size: 3 + LOG_CAP_BYTES, truncated_before: 0 })).toBe(3);
    const after = appendLog(log, piece(3, "b\nc\n"));
    expect(after.text).toBe("c\n");
    expect(after.dropped).toBe(true);
  });

  it("waits for a line's end after a gap, across pieces", () => {
    let log = appendLog(emptyLog, piece(0, "a\n"));
    log = appendLog(log, piece(10, "middle of a line"));
    expect(log.text).toBe("");
    log = appendLog(log, piece(log.next!, " ends\nnext\n"));
    expect(log.text).toBe("next\n");
  });

  it("knows when the log has more than it read", () => {
    expect(logBehind(emptyLog, { size: 0, truncated_before: 0 })).toBe(false);
    expect(logBehind(emptyLog, { size: 5, truncated_before: 0 })).toBe(true);
    const log = appendLog(emptyLog, piece(0, "abc\n"));
    expect(logBehind(log, { size: 4, truncated_before: 0 })).toBe(false);
    expect(logBehind(log, { size: 9, truncated_before: 0 })).toBe(true);
    expect(logBehind(log, undefined)).toBe(false);
  });
});
