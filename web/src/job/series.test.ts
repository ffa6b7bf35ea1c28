import { describe, expect, it } from "vitest";
import type { LogTail } from "../api/types";
import {
  appendSeries,
  decades,
  emptySeries,
  fitsLogScale,
  seriesBehind,
  seriesPoints,
  seriesReadOffset,
  SERIES_CATCH_UP_BYTES,
  type SeriesState,
} from "./series";

const piece = (offset: number, text: string, complete = false): LogTail => ({
  stream: "series",
  offset,
  next_offset: offset + new TextEncoder().encode(text).length,
  text,
  complete,
  truncated_before: 0,
});

function feed(text: string, size: number, max?: number): SeriesState {
  let state = emptySeries;
  for (let at = 0; at < text.length; at += size) state = appendSeries(state, piece(state.next ?? 0, text.slice(at, at + size)), max);
  return state;
}

describe("the series", () => {
  it("reads the header, then rows as they arrive, holding a line until it ends", () => {
    let state = appendSeries(emptySeries, piece(0, "step,time_s,residual\n1,0.5,1e-1\n2,1.0,"));
    expect(state.columns).toEqual(["step", "time_s", "residual"]);
    expect(seriesPoints(state)).toEqual([{ step: 1, time_s: 0.5, residual: 0.1 }]);
    state = appendSeries(state, piece(state.next!, "2e-3\n"));
    expect(seriesPoints(state)).toEqual([
      { step: 1, time_s: 0.5, residual: 0.1 },
      { step: 2, time_s: 1, residual: 0.002 },
    ]);
    expect(state.rows).toBe(2);
    expect(state.pending).toBe("");
  });

  it("is the same however the text is cut", () => {
    const text = "x,y\n" + Array.from({ length: 50 }, (_, i) => `${i},${i * i}\n`).join("");
    const whole = feed(text, text.length);
    for (const size of [1, 3, 7, 40]) expect(seriesPoints(feed(text, size))).toEqual(seriesPoints(whole));
    expect(whole.rows).toBe(50);
  });

  it("reads the last line once the series is complete", () => {
    const state = appendSeries(emptySeries, piece(0, "x,y\n1,2\n3,4", true));
    expect(seriesPoints(state)).toEqual([
      { x: 1, y: 2 },
      { x: 3, y: 4 },
    ]);
    expect(state.complete).toBe(true);
  });

  it("keeps at most the maximum of points, evenly spread, the first and the latest shown", () => {
    const text = "x,y\n" + Array.from({ length: 10_001 }, (_, i) => `${i},${2 * i}\n`).join("");
    const state = feed(text, 997, 100);
    const points = seriesPoints(state);
    expect(points.length).toBeLessThanOrEqual(100);
    expect(points.length).toBeGreaterThan(50);
    expect(points[0]).toEqual({ x: 0, y: 0 });
    expect(points[points.length - 1]).toEqual({ x: 10_000, y: 20_000 });
    const steps = new Set(points.slice(0, -1).map((p, i) => (i ? (p.x as number) - (points[i - 1].x as number) : state.stride)));
    expect(steps).toEqual(new Set([state.stride]));
    expect(state.rows).toBe(10_001);
  });

  it("skips rows without a number for x, and reads empty cells as gaps", () => {
    const state = appendSeries(emptySeries, piece(0, "x,y\nabc,1\n1,\n2,nan\n"));
    expect(seriesPoints(state)).toEqual([
      { x: 1, y: null },
      { x: 2, y: null },
    ]);
  });

  it("names the columns by position when storage no longer keeps the header", () => {
    const state = appendSeries(emptySeries, piece(4096, "5,6\n7,8,9\n"));
    expect(state.headerLost).toBe(true);
    expect(state.columns).toEqual(["column 1", "column 2", "column 3"]);
    expect(seriesPoints(state)).toEqual([{ "column 1": 7, "column 2": 8, "column 3": 9 }]);
  });

  it("reads from its start, then on, and jumps ahead when far behind", () => {
    expect(seriesReadOffset(emptySeries, { size: 10 * SERIES_CATCH_UP_BYTES, truncated_before: 0 })).toBe(0);
    const state = appendSeries(emptySeries, piece(0, "x,y\n1,1\n"));
    expect(seriesReadOffset(state, { size: 20, truncated_before: 0 })).toBe(state.next);
    const far = { size: state.next! + SERIES_CATCH_UP_BYTES + 10, truncated_before: 0 };
    expect(seriesReadOffset(state, far)).toBe(state.next! + 10);
    const after = appendSeries(state, piece(state.next! + 10, "3,9\n4,16\n"));
    expect(after.skipped).toBe(true);
    expect(seriesPoints(after)).toEqual([
      { x: 1, y: 1 },
      { x: 4, y: 16 },
    ]);
    expect(seriesBehind(after, { size: after.next!, truncated_before: 0 })).toBe(false);
    expect(seriesBehind(after, { size: after.next! + 1, truncated_before: 0 })).toBe(true);
  });

  it("stays the same object when a piece brings nothing", () => {
    const state = appendSeries(emptySeries, piece(0, "x,y\n1,1\n"));
    expect(appendSeries(state, piece(state.next!, ""))).toBe(state);
  });
});

describe("log scales", () => {
  it("fit columns of values above 0 spanning more than two decades", () => {
    expect(fitsLogScale([1, 0.1, 1e-4, null])).toBe(true);
    expect(fitsLogScale([1, 0.5, 0.2])).toBe(false);
    expect(fitsLogScale([1, 0, 1e-4])).toBe(false);
    expect(fitsLogScale([1, -1e-4])).toBe(false);
    expect(fitsLogScale([1e-4])).toBe(false);
  });

  it("run over whole decades", () => {
    expect(decades(3e-5, 0.2)).toEqual([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1].map((v) => expect.closeTo(v, 15)));
    expect(decades(1, 1)).toEqual([1, 10]);
  });
});

describe("CSV lines", () => {
  it("split at commas, quotes holding commas and doubled quotes", async () => {
    const { splitCsvLine } = await import("./cells");
    expect(splitCsvLine("1,2.5,abc")).toEqual(["1", "2.5", "abc"]);
    expect(splitCsvLine('"a,b",1,"say ""hi"""')).toEqual(["a,b", "1", 'say "hi"']);
    expect(splitCsvLine("1,,")).toEqual(["1", "", ""]);
  });
});
