import { useEffect, useRef } from "react";
import { useQuery } from "@tanstack/react-query";
import { isActive } from "../api/jobStatuses";
import { jobQuery, jobStatusQuery } from "../api/queries";
import type { JobStatus } from "../api/types";
import { useDocumentVisible } from "../lib/useDocumentVisible";

/**
 * A job's details, kept current while it is active: its status query (see jobStatusQuery) runs
 * only then, and refreshes the details when the status moves. `onStatusMoved` hears each move the
 * system made (from an active status), not the ones the user's own actions make from a draft.
 */
export function useLiveJob(jobId: string, onStatusMoved: () => void) {
  const visible = useDocumentVisible();
  const details = useQuery(jobQuery(jobId));
  const status = details.data?.job.status;
  const watching = status !== undefined && isActive(status);
  useQuery(jobStatusQuery(jobId, { enabled: watching, visible }));

  const last = useRef<{ jobId: string; status: JobStatus } | null>(null);
  const onMoved = useRef(onStatusMoved);
  onMoved.current = onStatusMoved;
  useEffect(() => {
    if (status === undefined) return;
    const before = last.current;
    last.current = { jobId, status };
    if (before?.jobId === jobId && before.status !== status && isActive(before.status)) onMoved.current();
  }, [jobId, status]);

  return { loaded: details, watching };
}
