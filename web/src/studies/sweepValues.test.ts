import { describe, expect, it } from "vitest";
import type { FieldSpec } from "../api/types";
import {
  countRuns,
  expandRange,
  newVaryDraft,
  parseList,
  placeProblems,
  placedCount,
  planOf,
  readTable,
  varyValues,
  type SweepDraft,
} from "./sweepValues";

const spec = (over: Partial<FieldSpec>): FieldSpec => ({
  name: "x",
  label: "X",
  type: "number",
  unit: null,
  min: null,
  max: null,
  choices: null,
  pattern: null,
  max_length: null,
  required: true,
  help: "",
  default: null,
  ...over,
});

const speed = spec({ name: "speed_rpm", type: "integer", unit: "rpm", min: 1000, max: 20000, default: 10000 });
const duration = spec({ name: "duration_s", type: "number", min: 5, max: 300, default: 45 });
const fruit = spec({ name: "fruit_mix", type: "choice", choices: ["a", "b", "c"], default: "a" });
const ice = spec({ name: "ice", type: "boolean", default: false });
const label = spec({ name: "batch_label", type: "string", required: false, default: "" });
const fields = [speed, duration, fruit, ice, label];

const draft = (over: Partial<SweepDraft>): SweepDraft => ({
  title: "Speeds",
  source: "vary",
  mode: "grid",
  varied: [],
  vary: {},
  table: "",
  base: { speed_rpm: "10000", duration_s: "45", fruit_mix: "a", ice: false, batch_label: "" },
  run: false,
  ...over,
});

describe("value lists", () => {
  it("reads numbers as numbers and keeps what is not one as typed", () => {
    expect(parseList(speed, "4000, 8000 ,12000")).toEqual([4000, 8000, 12000]);
    expect(parseList(duration, "0,5")).toEqual([0, 5]); // a comma separates values
    expect(parseList(duration, "1.5; 2e1\n lots")).toEqual([1.5, 20, "lots"]);
    expect(parseList(speed, " , ,")).toEqual([]);
    expect(parseList(label, "a, b")).toEqual(["a", "b"]);
  });
});

describe("ranges", () => {
  it("go from start to stop inclusive", () => {
    expect(expandRange("1000", "3000", "1000")).toEqual({ values: [1000, 2000, 3000], error: null });
    expect(expandRange("10", "1", "-3")).toEqual({ values: [10, 7, 4, 1], error: null });
  });

  it("stop before passing stop when a step does not land on it", () => {
    expect(expandRange("0", "10", "4").values).toEqual([0, 4, 8]);
  });

  it("round to the decimals given", () => {
    expect(expandRange("0.1", "0.5", "0.1").values).toEqual([0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(expandRange("0", "1", "0,25").values).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it("take one value when start is stop, with or without a step", () => {
    expect(expandRange("5", "5", "")).toEqual({ values: [5], error: null });
  });

  it("say what is wrong", () => {
    expect(expandRange("", "5", "1").error).toMatch(/start and a stop/);
    expect(expandRange("a", "5", "1").error).toMatch(/start is not a number/);
    expect(expandRange("1", "5", "").error).toMatch(/give a step/);
    expect(expandRange("1", "5", "0").error).toMatch(/cannot be 0/);
    expect(expandRange("1", "5", "-1").error).toMatch(/never reaches/);
    expect(expandRange("0", "1e6", "1").error).toMatch(/at most/);
  });
});

describe("varied fields", () => {
  it("start as a list of the current value for numbers, every choice for choices", () => {
    expect(newVaryDraft(speed, 10000)).toMatchObject({ how: "list", list: "10000", start: "1000", stop: "20000" });
    expect(varyValues(fruit, newVaryDraft(fruit, "a")).values).toEqual(["a", "b", "c"]);
    expect(varyValues(ice, newVaryDraft(ice, false)).values).toEqual([true, false]);
  });

  it("give picks in the field's order", () => {
    const picked = { ...newVaryDraft(fruit, "a"), picks: ["c", "a"] };
    expect(varyValues(fruit, picked).values).toEqual(["a", "c"]);
  });
});

describe("the request", () => {
  it("leaves the varied fields out of the base values", () => {
    const form = draft({
      varied: ["speed_rpm", "duration_s"],
      vary: {
        speed_rpm: { ...newVaryDraft(speed, 10000), list: "4000, 8000" },
        duration_s: { ...newVaryDraft(duration, 45), how: "range", start: "10", stop: "30", step: "10" },
      },
    });
    expect(planOf(fields, form)).toEqual({
      title: "Speeds",
      mode: "grid",
      fields: { fruit_mix: "a", ice: false, batch_label: "" },
      vary: { speed_rpm: [4000, 8000], duration_s: [10, 20, 30] },
    });
    expect(countRuns(fields, form)).toBe(6);
    expect(countRuns(fields, { ...form, mode: "zip" })).toBeNull();
  });

  it("sends a table as its text, with every base value", () => {
    const form = draft({ source: "table", table: "speed_rpm,duration_s\n4000,10\n8000,20\n" });
    expect(planOf(fields, form)).toMatchObject({ table: form.table, fields: { speed_rpm: 10000, duration_s: 45 } });
    expect(countRuns(fields, form)).toBe(2);
    expect(readTable("\uFEFFspeed_rpm, duration_s\n4000,10\n\n")).toEqual({ header: ["speed_rpm", "duration_s"], rows: [["4000", "10"]] });
  });

  it("is titled even before a title is typed", () => {
    expect(planOf(fields, draft({ title: "  " })).title).toBe("Sweep");
  });
});

describe("problems", () => {
  it("go beside the input they name", () => {
    const placed = placeProblems([
      { field: "vary.speed_rpm[2]", message: "must be at most 20000", rule: "max" },
      { field: "vary.speed_rpm", message: "give at least one value" },
      { field: "vary", message: "zip needs lists of one length" },
      { field: "rows[4].speed_rpm", message: "row 4: must be at least 1000" },
      { field: "rows[4]", message: "row 4 repeats row 1" },
      { field: "table.colour", message: "the case has no field of this name" },
      { field: "fields.fruit_mix", message: "must be one of a, b, c" },
      { field: "title", message: "too long" },
      { field: "", message: "something else" },
    ]);
    expect(placed.varyValue).toEqual({ speed_rpm: { 2: ["must be at most 20000"] } });
    expect(placed.varyField).toEqual({ speed_rpm: ["give at least one value"] });
    expect(placed.vary).toEqual(["zip needs lists of one length"]);
    expect(placed.rows).toEqual({ 4: ["row 4: must be at least 1000", "row 4 repeats row 1"] });
    expect(placed.table).toEqual(["the case has no field of this name"]);
    expect(placed.base).toEqual({ fruit_mix: ["must be one of a, b, c"] });
    expect(placed.title).toEqual(["too long"]);
    expect(placed.general).toEqual([{ field: "", message: "something else" }]);
    expect(placedCount(placed)).toBe(7);
  });
});
