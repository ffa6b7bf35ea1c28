import { formatDateShort, formatDateTime, formatRelative } from "../lib/format";

/** A date in the user's locale; `relative` shows "5 minutes ago" with the full date on hover. */
export function DateText({ value, relative = false }: { value: string | null | undefined; relative?: boolean }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <time dateTime={value} title={formatDateTime(value)}>
      {relative ? formatRelative(value) : formatDateShort(value)}
    </time>
  );
}
