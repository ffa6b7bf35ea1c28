import { formatPercent } from "../lib/format";

/** A labelled progress bar; without a fraction it shows an indeterminate bar. */
export function ProgressBar({ label, fraction }: { label: string; fraction: number | null }) {
  const known = fraction !== null && Number.isFinite(fraction);
  const value = known ? Math.min(1, Math.max(0, fraction)) : 0;
  return (
    <div className="progress">
      <div className="progress-head">
        <span>{label}</span>
        <span className="muted">{known ? formatPercent(value) : "working…"}</span>
      </div>
      <div
        className={`progress-track${known ? "" : " progress-unknown"}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={known ? Math.round(value * 100) : undefined}
      >
        <div className="progress-fill" style={{ width: known ? `${value * 100}%` : undefined }} />
      </div>
    </div>
  );
}
