import { useEffect, useRef } from "react";
import { getJobStatus } from "../api";
import type { JobStatus, JobStatusInfo } from "../api/types";
import { isActive } from "./status";

const VISIBLE_INTERVAL_MS = 3_000;
const HIDDEN_INTERVAL_MS = 15_000;
const MAX_BACKOFF_MS = 60_000;

/**
 * Follow a job's status while it is active: `GET /status` with `If-None-Match` every 3 s (every 15 s
 * while the tab is hidden, and at once when it shows again). While nothing changed the API answers
 * 304 without a body, so hundreds of open pages cost it little and hold none of its connections.
 * `onStatus` gets every change; the loop stops when the job leaves the active statuses or the page
 * goes away. Errors back off (2 s, 4 s, ... 60 s) instead of hammering the API.
 */
export function useJobStatusWatch(
  jobId: string,
  status: JobStatus | undefined,
  onStatus: (info: JobStatusInfo) => void,
): void {
  const onStatusRef = useRef(onStatus);
  onStatusRef.current = onStatus;

  useEffect(() => {
    if (!status || !isActive(status)) return;
    const controller = new AbortController();
    let current: JobStatus = status;
    let etag: string | null = null;
    let failures = 0;

    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          document.removeEventListener("visibilitychange", shown);
          controller.signal.removeEventListener("abort", done);
          resolve();
        };
        const shown = () => document.visibilityState === "visible" && done();
        const timer = setTimeout(done, ms);
        document.addEventListener("visibilitychange", shown);
        controller.signal.addEventListener("abort", done);
      });

    (async () => {
      while (!controller.signal.aborted && isActive(current)) {
        let wait = document.hidden ? HIDDEN_INTERVAL_MS : VISIBLE_INTERVAL_MS;
        try {
          const answer = await getJobStatus(jobId, { etag, signal: controller.signal });
          if (controller.signal.aborted) return;
          failures = 0;
          etag = answer.etag;
          if (answer.info) {
            current = answer.info.status;
            onStatusRef.current(answer.info);
          }
        } catch {
          if (controller.signal.aborted) return;
          failures += 1;
          wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** failures);
        }
        if (isActive(current)) await pause(wait);
      }
    })();

    return () => controller.abort();
  }, [jobId, status]);
}
