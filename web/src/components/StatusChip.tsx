import { isActive } from "../api/jobStatuses";
import type { JobStatus } from "../api/types";
import { STATUS_LABEL, STATUS_MEANING } from "../lib/status";

export function StatusChip({ status }: { status: JobStatus }) {
  return (
    <span className={`chip chip-${status}`} title={STATUS_MEANING[status]}>
      {isActive(status) && <span className="chip-pulse" aria-hidden="true" />}
      {STATUS_LABEL[status] ?? status}
    </span>
  );
}
