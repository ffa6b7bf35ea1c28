import { describe, expect, it } from "vitest";
import { defaultSeries, downsample, parseCsv, toPoints } from "./csv";

const CSV = "time_s,homogeneity,label\n0.0,0.0,a\n0.6,0.21,b\n1.2,,c\n";

describe("csv", () => {
  it("keeps cells as written and finds the numeric columns", () => {
    const data = parseCsv(CSV);
    expect(data.columns).toEqual(["time_s", "homogeneity", "label"]);
    expect(data.rows[0]).toEqual({ time_s: "0.0", homogeneity: "0.0", label: "a" });
    expect(data.numericColumns).toEqual(["time_s", "homogeneity"]);
    expect(defaultSeries(data.numericColumns, "time_s")).toEqual(["homogeneity"]);
  });

  it("turns rows into sorted points with gaps as null", () => {
    const data = parseCsv("x,y\n2,20\n1,10\n3,\n");
    expect(toPoints(data.rows, "x", ["y"])).toEqual([
      { x: 1, y: 10 },
      { x: 2, y: 20 },
      { x: 3, y: null },
    ]);
  });

  it("downsamples evenly, keeping the ends", () => {
    const rows = Array.from({ length: 1001 }, (_, i) => i);
    const few = downsample(rows, 11);
    expect(few).toHaveLength(11);
    expect(few[0]).toBe(0);
    expect(few[10]).toBe(1000);
  });
});
