import { describe, expect, it } from "vitest";
import type { Comparison } from "../api/types";
import { canCompare, compareUrl, differsFromFirst, overlayOptions, runColor, statsDifferFromFirst, visibleRows } from "./compareRows";
import { overlayLine, thin } from "./overlay";

const rows = [
  { name: "speed_rpm", differs: true },
  { name: "fruit", differs: false },
  { name: "duration_s", differs: true },
];

describe("compare rows", () => {
  it("show only those that differ, or all", () => {
    expect(visibleRows(rows, true).map((r) => r.name)).toEqual(["speed_rpm", "duration_s"]);
    expect(visibleRows(rows, false)).toEqual(rows);
  });

  it("mark the values that differ from the first job's", () => {
    expect(differsFromFirst([4000, 4000, 8000, null])).toEqual([false, false, true, true]);
    expect(differsFromFirst(["a", "a"])).toEqual([false, false]);
    const column = { output: "h.csv", column: "y", differs: true, stats: [{ count: 1, min: 0, max: 1, mean: 1, last: 1 }, null, { count: 1, min: 0, max: 2, mean: 2, last: 2 }] };
    expect(statsDifferFromFirst(column, "last")).toEqual([false, true, true]);
    expect(statsDifferFromFirst(column, "min")).toEqual([false, true, false]);
  });
});

describe("the overlay", () => {
  const text = "time_s,homogeneity,label\n0,0,a\n1,0.5,b\n2,,c\n3,0.9,d\n";

  it("plots a column against the first one", () => {
    expect(overlayLine(text, "homogeneity", "first")).toEqual({
      x: "time_s",
      points: [{ x: 0, y: 0 }, { x: 1, y: 0.5 }, { x: 3, y: 0.9 }],
    });
  });

  it("or against the row number (also when the first column is the one plotted)", () => {
    expect(overlayLine(text, "homogeneity", "row").points).toEqual([{ x: 1, y: 0 }, { x: 2, y: 0.5 }, { x: 4, y: 0.9 }]);
    expect(overlayLine(text, "time_s", "first").x).toBe("row");
  });

  it("offers the CSV outputs and their numeric columns", () => {
    const comparison = {
      columns: [
        { output: "a.csv", column: "t", stats: [], differs: false },
        { output: "a.csv", column: "y", stats: [], differs: true },
        { output: "b.csv", column: "size", stats: [], differs: true },
      ],
    } as unknown as Comparison;
    expect([...overlayOptions(comparison)]).toEqual([["a.csv", ["t", "y"]], ["b.csv", ["size"]]]);
  });

  it("keeps at most so many points, the first and the last among them", () => {
    const points = Array.from({ length: 10 }, (_, i) => i);
    expect(thin(points, 4)).toEqual([0, 3, 6, 9]);
    expect(thin(points, 20)).toEqual(points);
  });
});

describe("what can be compared", () => {
  it("2 to 50 jobs, by URL", () => {
    expect([1, 2, 50, 51].map(canCompare)).toEqual([false, true, true, false]);
    expect(compareUrl({ jobIds: ["a", "b c"] })).toBe("/compare?job=a&job=b+c");
    expect(compareUrl({ sweepId: "sw-1" })).toBe("/compare?sweep_id=sw-1");
  });

  it("each with a colour of its own", () => {
    const colours = Array.from({ length: 50 }, (_, i) => runColor(i));
    expect(new Set(colours).size).toBe(50);
  });
});
