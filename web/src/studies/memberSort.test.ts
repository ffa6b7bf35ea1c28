import { describe, expect, it } from "vitest";
import type { SweepMember } from "../api/types";
import { compareValues, defaultSummary, nextSort, sortMembers, summaryOptions, summaryValue, type SummaryChoice } from "./memberSort";

const stats = (last: number, mean: number) => ({ count: 3, min: 0, max: last, mean, last });

const member = (index: number, over: Partial<SweepMember>): SweepMember => ({
  index,
  job_id: `j${index}`,
  title: `run ${index}`,
  status: "done",
  progress: 1,
  values: {},
  attempts: 1,
  outputs: {},
  ...over,
});

const members = [
  member(0, { values: { speed_rpm: 8000, fruit: "kale" }, outputs: { "h.csv": { time_s: stats(10, 5), homogeneity: stats(0.9, 0.5) } } }),
  member(1, { values: { speed_rpm: 4000, fruit: "apple" }, status: "running", outputs: {} }),
  member(2, { values: { speed_rpm: 12000, fruit: "Banana" }, outputs: { "h.csv": { time_s: stats(10, 5), homogeneity: stats(0.99, 0.7) } } }),
  member(3, { values: { speed_rpm: 8000, fruit: "apple" }, status: "failed", outputs: {} }),
];
const ids = (list: SweepMember[]) => list.map((m) => m.index);

describe("sorting the members", () => {
  it("by a varied field, ties in the sweep's order", () => {
    expect(ids(sortMembers(members, { key: { by: "field", name: "speed_rpm" }, direction: "ascending" }, null))).toEqual([1, 0, 3, 2]);
    expect(ids(sortMembers(members, { key: { by: "field", name: "speed_rpm" }, direction: "descending" }, null))).toEqual([2, 0, 3, 1]);
    expect(ids(sortMembers(members, { key: { by: "field", name: "fruit" }, direction: "ascending" }, null))).toEqual([1, 3, 2, 0]);
  });

  it("by status in the order a job goes through them", () => {
    expect(ids(sortMembers(members, { key: { by: "status" }, direction: "ascending" }, null))).toEqual([1, 0, 2, 3]);
  });

  it("by a summary value, members without one last either way", () => {
    const choice: SummaryChoice = { output: "h.csv", column: "homogeneity", stat: "last" };
    expect(ids(sortMembers(members, { key: { by: "summary" }, direction: "ascending" }, choice))).toEqual([0, 2, 1, 3]);
    expect(ids(sortMembers(members, { key: { by: "summary" }, direction: "descending" }, choice))).toEqual([2, 0, 1, 3]);
    expect(summaryValue(members[2], { ...choice, stat: "mean" })).toBe(0.7);
    expect(summaryValue(members[1], choice)).toBeNull();
  });

  it("turns round on a second click of the same header", () => {
    const first = nextSort({ key: { by: "index" }, direction: "ascending" }, { by: "field", name: "a" });
    expect(first).toEqual({ key: { by: "field", name: "a" }, direction: "ascending" });
    expect(nextSort(first, { by: "field", name: "a" }).direction).toBe("descending");
    expect(nextSort(first, { by: "field", name: "b" }).direction).toBe("ascending");
  });

  it("compares numbers by value and text with numbers in it by value", () => {
    expect(compareValues(9, 10)).toBeLessThan(0);
    expect(compareValues("run 9", "run 10")).toBeLessThan(0);
    expect(compareValues(null, 1)).toBeGreaterThan(0);
  });
});

describe("summaries", () => {
  it("offer each output's columns, the second column's last value first", () => {
    const options = summaryOptions(members);
    expect([...options]).toEqual([["h.csv", ["time_s", "homogeneity"]]]);
    expect(defaultSummary(options, null)).toEqual({ output: "h.csv", column: "homogeneity", stat: "last" });
    expect(defaultSummary(options, { output: "h.csv", column: "time_s", stat: "mean" })).toEqual({ output: "h.csv", column: "time_s", stat: "mean" });
    expect(defaultSummary(options, { output: "gone.csv", column: "x", stat: "mean" })).toEqual({ output: "h.csv", column: "homogeneity", stat: "mean" });
    expect(defaultSummary(new Map(), null)).toBeNull();
  });
});
