import type { Transition } from "../api/types";
import { DateText } from "../components/DateText";
import { StatusChip } from "../components/StatusChip";
import { describeSource } from "../lib/status";
import { formatDuration, localizeTimes } from "../lib/format";

/** The job's history, oldest first: when, who moved it, why. */
export function JobTimeline({ history }: { history: Transition[] }) {
  if (!history.length) return <p className="muted">No history yet.</p>;
  return (
    <ol className="timeline">
      {history.map((step, i) => {
        const previous = i > 0 ? history[i - 1] : undefined;
        const after = previous ? formatDuration(previous.at, step.at) : "";
        return (
          <li key={`${step.status}-${step.at}-${i}`} className={`timeline-item timeline-${step.status}`}>
            <span className="timeline-dot" aria-hidden="true" />
            <div className="timeline-body">
              <div className="timeline-head">
                <StatusChip status={step.status} />
                <DateText value={step.at} />
              </div>
              <p className="timeline-reason">{localizeTimes(step.reason) || <span className="muted">no reason given</span>}</p>
              <p className="timeline-meta muted small">
                by {describeSource(step.source)}
                {after && after !== "0 s" && <> · {after} after the previous step</>}
              </p>
            </div>
          </li>
        );
      })}
    </ol>
  );
}
