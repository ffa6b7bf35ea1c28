/** Dates, sizes and values in the user's locale. */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const dateShort = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

function toDate(value: string | Date): Date | null {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(value: string | Date | null | undefined): string {
  if (!value) return "—";
  const date = toDate(value);
  return date ? dateTime.format(date) : String(value);
}

export function formatDateShort(value: string | Date | null | undefined): string {
  if (!value) return "—";
  const date = toDate(value);
  return date ? dateShort.format(date) : String(value);
}

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 7],
  ["week", 4.345],
  ["month", 12],
  ["year", Infinity],
];

/** "3 minutes ago", "yesterday"... */
export function formatRelative(value: string | Date | null | undefined, now: Date = new Date()): string {
  if (!value) return "—";
  const date = toDate(value);
  if (!date) return String(value);
  let amount = (date.getTime() - now.getTime()) / 1000;
  if (Math.abs(amount) < 10) return "just now";
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return dateShort.format(date);
}

/** Seconds between two instants as "1 min 5 s". */
export function formatDuration(from: string, to: string): string {
  const a = toDate(from);
  const b = toDate(to);
  if (!a || !b) return "";
  return formatSeconds((b.getTime() - a.getTime()) / 1000);
}

/** 65 → "1 min 5 s", 7380 → "2 h 3 min". */
export function formatSeconds(value: number): string {
  const seconds = Math.max(0, Math.round(value));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const UNITS = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"] as const;

/** 4166 → "4.2 kB" (decimal units, the user's number format). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "—";
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(undefined, {
    style: "unit",
    unit: UNITS[unit],
    unitDisplay: unit === 0 ? "long" : "short",
    maximumFractionDigits: unit === 0 || value >= 100 ? 0 : 1,
  }).format(value);
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });

/** A field value as the user reads it. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "number") return numberFormat.format(value);
  return String(value);
}

export function formatPercent(fraction: number): string {
  return new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 }).format(fraction);
}

/** An API's message shown on its own: "must be at least 1000 rpm, not 50" → "Must be at least 1000 rpm, not 50." */
export function asSentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const first = text[0].toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** "speed_rpm" → "Speed rpm", for fields without a label. */
export function humanize(name: string): string {
  const text = name.replace(/[_-]+/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : name;
}

const ISO_IN_TEXT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})\b/g;

/** Free text from the API ("cancelled by alice at 2026-11-23T08:44:47.27+00:00") with its timestamps in the user's locale. */
export function localizeTimes(text: string | null | undefined): string {
  if (!text) return "";
  return text.replace(ISO_IN_TEXT, (iso) => formatDateTime(iso));
}
