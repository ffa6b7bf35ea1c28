import { describe, expect, it } from "vitest";
import type { FieldSpec } from "../api/types";
import { changedValues, describeLimits, draftsFrom, fromDraft, sortErrors, valuesFrom } from "./fieldValues";

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
const label = spec({ name: "batch_label", type: "string", max_length: 60, required: false, default: "" });
const fruit = spec({ name: "fruit_mix", type: "choice", choices: ["a", "b"], default: "a" });
const ice = spec({ name: "ice", type: "boolean", default: false });

describe("field values", () => {
  it("starts at the defaults, or the job's values", () => {
    expect(draftsFrom([speed, label, fruit, ice], undefined)).toEqual({ speed_rpm: "10000", batch_label: "", fruit_mix: "a", ice: false });
    expect(draftsFrom([speed], { speed_rpm: 6000 })).toEqual({ speed_rpm: "6000" });
  });

  it("sends numbers as numbers and anything else as typed, for the API to judge", () => {
    expect(fromDraft(speed, "6000")).toBe(6000);
    expect(fromDraft(speed, " 1e4 ")).toBe(10000);
    expect(fromDraft(spec({}), "0,5")).toBe(0.5);
    expect(fromDraft(speed, "lots")).toBe("lots");
    expect(fromDraft(speed, "")).toBeNull();
    expect(fromDraft(label, " keep spaces ")).toBe(" keep spaces ");
    expect(fromDraft(ice, true)).toBe(true);
    expect(valuesFrom([speed, fruit], { speed_rpm: "50", fruit_mix: "b" })).toEqual({ speed_rpm: 50, fruit_mix: "b" });
  });

  it("sends only what changed", () => {
    expect(changedValues([speed, fruit], { speed_rpm: "10000", fruit_mix: "b" }, { speed_rpm: 10000, fruit_mix: "a" })).toEqual({
      fruit_mix: "b",
    });
  });

  it("puts errors beside their inputs, and the rest at the top", () => {
    const sorted = sortErrors(
      [
        { field: "speed_rpm", rule: "min", message: "too small" },
        { field: "job_title", message: "empty" },
        { field: "bogus", rule: "unknown", message: "no such field" },
        { field: "", message: "general" },
      ],
      ["job_title", "speed_rpm"],
    );
    expect(sorted.byField).toEqual({ speed_rpm: ["too small"], job_title: ["empty"] });
    expect(sorted.general.map((e) => e.message)).toEqual(["no such field", "general"]);
  });

  it("describes limits in words", () => {
    expect(describeLimits(speed)).toMatch(/1.000 – 20.000 rpm, whole number/);
    expect(describeLimits(label)).toBe("at most 60 characters");
  });
});
