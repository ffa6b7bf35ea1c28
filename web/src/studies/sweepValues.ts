/**
 * The sweep form's pure parts: the values a field takes (a comma list, a start/stop/step range, or
 * picked choices), the request made from the whole form, and where each of the API's problems is
 * shown (`vary.speed_rpm[2]` beside that value, `rows[4].speed_rpm` beside row 4, ...).
 */
import type { FieldSpec, FieldValue, FieldValues, PreviewRequest, ProblemFieldError, SweepMode } from "../api/types";
import { splitCsvLine } from "../job/cells";
import { valuesFrom, type DraftValues } from "../job/fieldValues";

/** How one varied field's values are given. */
export type VaryHow = "list" | "range" | "pick";

export interface VaryDraft {
  how: VaryHow;
  /** "4000, 8000, 12000" */
  list: string;
  start: string;
  stop: string;
  step: string;
  /** The choices (or "true"/"false") picked, for choice and boolean fields. */
  picks: string[];
}

export type SweepSource = "vary" | "table";

/** Everything the sweep form holds. */
export interface SweepDraft {
  title: string;
  source: SweepSource;
  mode: SweepMode;
  /** The varied fields, in the order they were chosen: in a grid the first is outermost. */
  varied: string[];
  vary: Record<string, VaryDraft>;
  /** CSV text: a header row of field names, then one row per run. */
  table: string;
  /** The base values (every run's, unless varied or set by the table's row). */
  base: DraftValues;
  run: boolean;
}

/** Ranges longer than this are refused before they are sent (the API allows 1,000 runs anyway). */
export const MAX_RANGE_VALUES = 10_000;

const NUMBER = /^[+-]?(\d+([.,]\d*)?|[.,]\d+)(e[+-]?\d+)?$/i;

/** A number typed by a person ("1e4", "0,5"), or null when it is not one. */
export function readNumber(text: string): number | null {
  const trimmed = text.trim();
  if (!NUMBER.test(trimmed)) return null;
  const value = Number(trimmed.replace(",", "."));
  return Number.isFinite(value) ? value : null;
}

/** Whether values of the field are numbers: those can be given as a range. */
export const isNumeric = (field: FieldSpec): boolean => field.type === "number" || field.type === "integer";

/** Whether the field's values are picked from a few (choices, yes/no) rather than typed. */
export const isPicked = (field: FieldSpec): boolean => field.type === "choice" || field.type === "boolean";

/**
 * The values of a comma list, each as the API should get it: numbers as numbers for number
 * fields, and anything that is not a number as typed (the API is the judge, and says which one is bad).
 * Empty items are left out.
 */
export function parseList(field: FieldSpec, text: string): FieldValue[] {
  const items = text
    .split(/[,;\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== "");
  if (!isNumeric(field)) return items;
  return items.map((item) => readNumber(item) ?? item);
}

export type RangeResult = { values: number[]; error: null } | { values: []; error: string };

/** Digits after the decimal point of a number as typed ("0.25" → 2, "1e-3" → 3). */
function decimals(value: number): number {
  if (!Number.isFinite(value) || Number.isInteger(value)) return 0;
  const [mantissa, exponent] = value.toExponential().split("e");
  const fraction = (mantissa.split(".")[1] ?? "").length;
  return Math.max(0, fraction - Number(exponent));
}

/**
 * start, start + step, ... up to and including stop (when a step lands on it, within rounding).
 * The step may be left out for a single value (start = stop); its sign must lead from start to stop.
 * Values are rounded to the decimals of start and step, so 0.1 steps give 0.3, not 0.30000000000000004.
 */
export function expandRange(startText: string, stopText: string, stepText: string): RangeResult {
  const fail = (error: string): RangeResult => ({ values: [], error });
  if (!startText.trim() || !stopText.trim()) return fail("give a start and a stop");
  const start = readNumber(startText);
  const stop = readNumber(stopText);
  if (start === null) return fail(`the start is not a number: ${startText.trim()}`);
  if (stop === null) return fail(`the stop is not a number: ${stopText.trim()}`);
  if (start === stop) return { values: [start], error: null };
  if (!stepText.trim()) return fail("give a step");
  const step = readNumber(stepText);
  if (step === null) return fail(`the step is not a number: ${stepText.trim()}`);
  if (step === 0) return fail("the step cannot be 0");
  if ((stop - start) / step < 0) return fail(`a step of ${step} never reaches ${stop} from ${start}`);
  const span = (stop - start) / step;
  const count = Math.floor(span + 1e-9) + 1;
  if (count > MAX_RANGE_VALUES) return fail(`that makes ${count} values; at most ${MAX_RANGE_VALUES} are allowed`);
  const places = Math.min(12, Math.max(decimals(start), decimals(step)));
  const values = Array.from({ length: count }, (_, i) => Number((start + i * step).toFixed(places)));
  return { values, error: null };
}

/** A new varied field's draft: a range for numbers (from its limits when it has them), picks otherwise. */
export function newVaryDraft(field: FieldSpec, current: FieldValue | undefined): VaryDraft {
  const draft: VaryDraft = { how: isNumeric(field) ? "list" : isPicked(field) ? "pick" : "list", list: "", start: "", stop: "", step: "", picks: [] };
  if (isNumeric(field)) {
    draft.list = current === null || current === undefined || current === "" ? "" : String(current);
    if (field.min !== null && field.max !== null) {
      draft.start = String(field.min);
      draft.stop = String(field.max);
    }
  } else if (field.type === "choice") {
    draft.picks = [...(field.choices ?? [])];
  } else if (field.type === "boolean") {
    draft.picks = ["true", "false"];
  }
  return draft;
}

/** The values a varied field takes, and what is wrong with the way they are given (before the API is asked). */
export function varyValues(field: FieldSpec, draft: VaryDraft): { values: FieldValue[]; error: string | null } {
  if (draft.how === "range" && isNumeric(field)) return expandRange(draft.start, draft.stop, draft.step);
  if (draft.how === "pick" && isPicked(field)) {
    if (field.type === "boolean") {
      return { values: ["true", "false"].filter((v) => draft.picks.includes(v)).map((v) => v === "true"), error: null };
    }
    return { values: (field.choices ?? []).filter((choice) => draft.picks.includes(choice)), error: null };
  }
  return { values: parseList(field, draft.list), error: null };
}

/**
 * The header and rows of a pasted or uploaded table, for showing it (the API reads the text itself,
 * and says what is wrong with it). Blank lines are left out, as the API leaves them out.
 */
export function readTable(text: string): { header: string[]; rows: string[][] } {
  const lines = text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "" && splitCsvLine(line).some((cell) => cell.trim() !== ""));
  const [header = [], ...rows] = lines.map(splitCsvLine);
  return { header: header.map((cell) => cell.trim()), rows };
}

/**
 * The request the form stands for: the base values (less the varied fields, whose inputs are
 * hidden), and the varied fields' values, or the table. The same form gives the same request, so
 * an unchanged form is not previewed twice.
 */
export function planOf(fields: FieldSpec[], draft: SweepDraft): Omit<PreviewRequest, "case_id"> {
  const all = valuesFrom(fields, draft.base);
  const title = draft.title.trim() || "Sweep";
  if (draft.source === "table") {
    return { title, fields: all, mode: "grid", table: draft.table };
  }
  const varied = draft.varied.filter((name) => fields.some((f) => f.name === name));
  const base: FieldValues = {};
  for (const [name, value] of Object.entries(all)) if (!varied.includes(name)) base[name] = value;
  const vary: Record<string, FieldValue[]> = {};
  for (const name of varied) {
    const field = fields.find((f) => f.name === name)!;
    vary[name] = varyValues(field, draft.vary[name] ?? newVaryDraft(field, undefined)).values;
  }
  return { title, fields: base, mode: draft.mode, vary };
}

/** How many runs the form makes, as far as it can be told without the API (null: cannot be told). */
export function countRuns(fields: FieldSpec[], draft: SweepDraft): number | null {
  if (draft.source === "table") return readTable(draft.table).rows.length;
  const lengths = draft.varied.map((name) => {
    const field = fields.find((f) => f.name === name);
    return field ? varyValues(field, draft.vary[name] ?? newVaryDraft(field, undefined)).values.length : 0;
  });
  if (!lengths.length) return 0;
  if (draft.mode === "grid") return lengths.reduce((a, b) => a * b, 1);
  return new Set(lengths).size === 1 ? lengths[0] : null;
}

/** The API's problems sorted by where the form shows them. */
export interface PlacedProblems {
  /** `fields.<name>`: a base value. */
  base: Record<string, string[]>;
  /** `vary.<name>`: a varied field as a whole. */
  varyField: Record<string, string[]>;
  /** `vary.<name>[i]`: one value of a varied field, by its place in the list (from 0). */
  varyValue: Record<string, Record<number, string[]>>;
  /** `vary`: the varied fields together (none chosen, zip lengths, too many runs). */
  vary: string[];
  /** `rows[n]` and `rows[n].<name>`: one row of the table, by its number (from 1). */
  rows: Record<number, string[]>;
  /** `table` and `table.<name>`: the table as a whole (not CSV, a column that is no field). */
  table: string[];
  /** `title`. */
  title: string[];
  /** Everything else. */
  general: ProblemFieldError[];
}

const VARY_VALUE = /^vary\.(.+)\[(\d+)\]$/;
const ROW = /^rows\[(\d+)\](?:\.(.+))?$/;

export function placeProblems(problems: readonly ProblemFieldError[]): PlacedProblems {
  const placed: PlacedProblems = { base: {}, varyField: {}, varyValue: {}, vary: [], rows: {}, table: [], title: [], general: [] };
  for (const problem of problems) {
    const field = problem.field ?? "";
    const { message } = problem;
    let match: RegExpExecArray | null;
    if (field.startsWith("fields.")) (placed.base[field.slice(7)] ??= []).push(message);
    else if ((match = VARY_VALUE.exec(field))) ((placed.varyValue[match[1]] ??= {})[Number(match[2])] ??= []).push(message);
    else if (field.startsWith("vary.")) (placed.varyField[field.slice(5)] ??= []).push(message);
    else if (field === "vary") placed.vary.push(message);
    else if ((match = ROW.exec(field))) (placed.rows[Number(match[1])] ??= []).push(message);
    else if (field === "table" || field.startsWith("table.")) placed.table.push(message);
    else if (field === "title") placed.title.push(message);
    else placed.general.push(problem);
  }
  return placed;
}

/** How many problems the form shows beside an input (not in the general list). */
export function placedCount(placed: PlacedProblems): number {
  const values = Object.values(placed.varyValue).reduce((n, byIndex) => n + Object.keys(byIndex).length, 0);
  return (
    Object.keys(placed.base).length +
    Object.keys(placed.varyField).length +
    values +
    (placed.vary.length ? 1 : 0) +
    Object.keys(placed.rows).length +
    (placed.table.length ? 1 : 0) +
    (placed.title.length ? 1 : 0)
  );
}
