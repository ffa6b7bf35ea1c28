import type { FieldSpec, FieldValue, FieldValues, ProblemFieldError } from "../api/types";
import { formatValue } from "../lib/format";

/** What an input holds while the user types: text for numbers and strings, a flag for booleans. */
export type DraftValue = string | boolean;
export type DraftValues = Record<string, DraftValue>;

const NUMBER = /^[+-]?(\d+([.,]\d*)?|[.,]\d+)(e[+-]?\d+)?$/i;

export function toDraft(field: FieldSpec, value: FieldValue | undefined): DraftValue {
  if (field.type === "boolean") return value === true;
  if (value === null || value === undefined) return "";
  return String(value);
}

export function draftsFrom(fields: FieldSpec[], values: FieldValues | undefined): DraftValues {
  const drafts: DraftValues = {};
  for (const field of fields) {
    drafts[field.name] = toDraft(field, values && field.name in values ? values[field.name] : field.default);
  }
  return drafts;
}

/**
 * The value sent to the API. Text that is not a number is sent as typed: the API is the judge and
 * answers with a message naming the field ("must be a number, not 'abc'").
 */
export function fromDraft(field: FieldSpec, draft: DraftValue): FieldValue {
  if (field.type === "boolean") return draft === true;
  const text = String(draft).trim();
  if (field.type === "number" || field.type === "integer") {
    if (text === "") return null;
    if (NUMBER.test(text)) return Number(text.replace(",", "."));
    return text;
  }
  if (field.type === "string") return String(draft);
  return text === "" ? null : text;
}

export function valuesFrom(fields: FieldSpec[], drafts: DraftValues): FieldValues {
  const values: FieldValues = {};
  for (const field of fields) values[field.name] = fromDraft(field, drafts[field.name] ?? toDraft(field, null));
  return values;
}

/** Only the values that differ from `saved` (a PATCH sends what changed). */
export function changedValues(fields: FieldSpec[], drafts: DraftValues, saved: FieldValues): FieldValues {
  const all = valuesFrom(fields, drafts);
  const changed: FieldValues = {};
  for (const [name, value] of Object.entries(all)) {
    if (value !== saved[name]) changed[name] = value;
  }
  return changed;
}

/** The limits of a field in words: "1000 – 20000 rpm", "at most 60 characters". */
export function describeLimits(field: FieldSpec): string {
  const parts: string[] = [];
  const unit = field.unit ? ` ${field.unit}` : "";
  if (field.min !== null && field.max !== null) parts.push(`${formatValue(field.min)} – ${formatValue(field.max)}${unit}`);
  else if (field.min !== null) parts.push(`at least ${formatValue(field.min)}${unit}`);
  else if (field.max !== null) parts.push(`at most ${formatValue(field.max)}${unit}`);
  if (field.type === "integer") parts.push("whole number");
  if (field.max_length !== null) parts.push(`at most ${field.max_length} characters`);
  if (field.pattern) parts.push(`format ${field.pattern}`);
  if (field.type === "choice" && field.choices) parts.push(`${field.choices.length} choices`);
  return parts.join(", ");
}

export interface SortedErrors {
  /** Messages shown beside their input, by field name (and "job_title"). */
  byField: Record<string, string[]>;
  /** Everything else: unknown fields, general problems. */
  general: ProblemFieldError[];
}

export function sortErrors(errors: ProblemFieldError[], knownFields: string[]): SortedErrors {
  const known = new Set(knownFields);
  const byField: Record<string, string[]> = {};
  const general: ProblemFieldError[] = [];
  for (const error of errors) {
    if (error.field && known.has(error.field) && error.rule !== "unknown")
      (byField[error.field] ??= []).push(error.message);
    else general.push(error);
  }
  return { byField, general };
}
