import { useCallback, useEffect, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { isActive } from "../api/jobStatuses";
import { jobStatusQuery } from "../api/queries";
import type { JobDetails, JobStatus } from "../api/types";
import { useDocumentVisible } from "../lib/useDocumentVisible";
import {
  currentPermission,
  finishNotice,
  readChoice,
  shouldNotify,
  writeChoice,
  type NoticePermission,
} from "./finishNotice";

function session(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}

/**
 * A browser notification when `job` finishes, once the user asked for it (kept per job in
 * sessionStorage). The page's own polling moves the job's status (see useLiveJob); this only
 * watches it. A hidden tab's page stops its live looks, so while a notification is wanted and
 * the tab is hidden the job's status is asked every 15 s instead (jobStatusQuery), so that the
 * notification comes when the job finishes, not when the tab is shown again.
 */
export function useFinishNotice(job: JobDetails) {
  const jobId = job.job_id;
  const [permission, setPermission] = useState<NoticePermission>(() => currentPermission());
  const [choice, setChoice] = useState(() => ({ jobId, on: readChoice(session(), jobId) }));
  const [problem, setProblem] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  // Another job on the same page (after Relaunch): its own choice.
  const wanted = choice.jobId === jobId ? choice.on : readChoice(session(), jobId);
  const on = wanted && permission === "granted";

  const visible = useDocumentVisible();
  useQuery(jobStatusQuery(jobId, { enabled: on && !visible && isActive(job.status), visible }));

  const choose = useCallback(
    (wantedNow: boolean) => {
      writeChoice(session(), jobId, wantedNow);
      setChoice({ jobId, on: wantedNow });
    },
    [jobId],
  );

  const last = useRef<{ jobId: string; status: JobStatus } | null>(null);
  useEffect(() => {
    const before = last.current;
    last.current = { jobId, status: job.status };
    if (!on || before?.jobId !== jobId || !shouldNotify(before.status, job.status)) return;
    choose(false); // once
    const { title, options } = finishNotice(job);
    try {
      const notification = new Notification(title, options);
      notification.onclick = () => {
        window.focus();
        notification.close();
      };
    } catch {
      // Some browsers (Chrome on Android) show notifications only from a service worker.
      setProblem("This browser could not show the notification.");
    }
    // `job` is read when its status moves, not on each of its changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [jobId, job.status, on, choose]);

  /** Ask the browser (once it asks the user) and remember the choice; or stop. */
  const toggle = useCallback(async () => {
    setProblem(null);
    if (wanted && currentPermission() === "granted") {
      choose(false);
      return;
    }
    const now = currentPermission();
    if (now === "unsupported") {
      setPermission(now);
      return;
    }
    setAsking(true);
    try {
      const answer = now === "default" ? await Notification.requestPermission() : now;
      setPermission(answer);
      choose(answer === "granted");
    } catch {
      setPermission(currentPermission());
    } finally {
      setAsking(false);
    }
  }, [wanted, choose]);

  return { on, permission, asking, problem, toggle };
}
