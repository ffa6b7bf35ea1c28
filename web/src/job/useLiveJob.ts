import { useEffect, useRef } from "react";
import { useQuery } from "@tanstack/react-query";
import { isActive } from "../api/jobStatuses";
import { jobQuery, jobStatusQuery } from "../api/queries";
import type { JobStatus } from "../api/types";
import { useDocumentVisible } from "../lib/useDocumentVisible";
import { useLiveRun } from "./useLiveRun";

/**
 * A job's details, kept current while it is active by its live run (see useLiveRun and liveQuery):
 * one look every few seconds while the page is visible, which writes progress into the details and
 * refreshes them when the status moves; none while it is hidden. On a server without live looks,
 * its status query does this instead (see jobStatusQuery). `onStatusMoved` hears each move the
 * system made (from an active status), not the ones the user's own actions make from a draft.
 */
export function useLiveJob(jobId: string, onStatusMoved: () => void) {
  const visible = useDocumentVisible();
  const details = useQuery(jobQuery(jobId));
  const status = details.data?.job.status;
  const watching = status !== undefined && isActive(status);
  const live = useLiveRun(jobId, status, visible);
  useQuery(jobStatusQuery(jobId, { enabled: watching && live.unavailable, visible }));

  const last = useRef<{ jobId: string; status: JobStatus } | null>(null);
  const onMoved = useRef(onStatusMoved);
  onMoved.current = onStatusMoved;
  useEffect(() => {
    if (status === undefined) return;
    const before = last.current;
    last.current = { jobId, status };
    if (before?.jobId === jobId && before.status !== status && isActive(before.status)) onMoved.current();
  }, [jobId, status]);

  return { loaded: details, watching, live };
}
