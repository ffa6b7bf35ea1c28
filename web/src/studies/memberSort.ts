/** The sweep page's results table: summary values of the members' CSV outputs, and sorting by any column. */
import { JOB_STATUSES } from "../api/jobStatuses";
import type { ColumnStats, SweepMember } from "../api/types";

export const STATISTICS = ["last", "mean", "min", "max", "count"] as const satisfies readonly (keyof ColumnStats)[];
export type Statistic = (typeof STATISTICS)[number];

export const STATISTIC_LABEL: Record<Statistic, string> = {
  last: "last value",
  mean: "mean",
  min: "minimum",
  max: "maximum",
  count: "count",
};

/** One summary value of every member: a statistic of a numeric column of a CSV output. */
export interface SummaryChoice {
  output: string;
  column: string;
  stat: Statistic;
}

/** Each CSV output the members have, with its numeric columns (in the order first seen). */
export function summaryOptions(members: readonly SweepMember[]): Map<string, string[]> {
  const options = new Map<string, string[]>();
  for (const member of members) {
    for (const [output, columns] of Object.entries(member.outputs ?? {})) {
      const known = options.get(output) ?? [];
      for (const column of Object.keys(columns)) if (!known.includes(column)) known.push(column);
      options.set(output, known);
    }
  }
  return options;
}

/**
 * The summary to show first, or `current` if it still exists: the first output's second column
 * (the first is usually time or position), its last value.
 */
export function defaultSummary(options: Map<string, string[]>, current: SummaryChoice | null): SummaryChoice | null {
  if (current && options.get(current.output)?.includes(current.column)) return current;
  const [first] = options.entries();
  if (!first) return null;
  const [output, columns] = first;
  return { output, column: columns[1] ?? columns[0], stat: current?.stat ?? "last" };
}

export function summaryValue(member: SweepMember, choice: SummaryChoice | null): number | null {
  if (!choice) return null;
  const stats = member.outputs?.[choice.output]?.[choice.column];
  const value = stats?.[choice.stat];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** What the table is sorted by. */
export type SortKey = { by: "index" } | { by: "status" } | { by: "field"; name: string } | { by: "summary" };
export type Direction = "ascending" | "descending";
export interface Sort {
  key: SortKey;
  direction: Direction;
}

export const sameKey = (a: SortKey, b: SortKey): boolean =>
  a.by === b.by && (a.by !== "field" || (b.by === "field" && a.name === b.name));

/** A click on a column header: that column ascending, or the other way round if it was already sorted by it. */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (sameKey(current.key, key)) return { key, direction: current.direction === "ascending" ? "descending" : "ascending" };
  return { key, direction: "ascending" };
}

type Sortable = number | string | boolean | null | undefined;

/** Numbers by value, text in the user's order (numbers in text by value), missing values last either way. */
export function compareValues(a: Sortable, b: Sortable): number {
  const missingA = a === null || a === undefined || a === "";
  const missingB = b === null || b === undefined || b === "";
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

const STATUS_ORDER = new Map(JOB_STATUSES.map((status, i) => [status, i]));

function valueOf(member: SweepMember, key: SortKey, summary: SummaryChoice | null): Sortable {
  switch (key.by) {
    case "index":
      return member.index;
    case "status":
      return STATUS_ORDER.get(member.status) ?? null;
    case "field":
      return member.values[key.name];
    case "summary":
      return summaryValue(member, summary);
  }
}

/**
 * The members in the order asked for; ties keep the sweep's order. Members without a value (no
 * summary yet) come last whichever the direction.
 */
export function sortMembers(members: readonly SweepMember[], sort: Sort, summary: SummaryChoice | null): SweepMember[] {
  const sign = sort.direction === "ascending" ? 1 : -1;
  return [...members].sort((a, b) => {
    const va = valueOf(a, sort.key, summary);
    const vb = valueOf(b, sort.key, summary);
    const missingA = va === null || va === undefined || va === "";
    const missingB = vb === null || vb === undefined || vb === "";
    if (missingA !== missingB) return missingA ? 1 : -1;
    return sign * compareValues(va, vb) || a.index - b.index;
  });
}
