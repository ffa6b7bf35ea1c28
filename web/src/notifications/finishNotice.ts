/**
 * "Notify me in this browser" on a job's page: when the page's own status polling sees the job
 * finish, one browser notification (the Notifications API). Which moves notify, what the
 * notification says, and the choice kept per job in sessionStorage (a reload keeps it). Pure.
 */
import { isFinished } from "../api/jobStatuses";
import type { JobDetails, JobStatus } from "../api/types";
import { STATUS_LABEL, STATUS_MEANING } from "../lib/status";

/** What this browser allows: no Notifications API, not asked yet, allowed, or blocked. */
export type NoticePermission = "unsupported" | NotificationPermission;

/** The permission as the browser has it now. */
export function currentPermission(scope: { Notification?: { permission: NotificationPermission } } = globalThis): NoticePermission {
  return scope.Notification ? scope.Notification.permission : "unsupported";
}

/** A move the page saw from a status that had not finished to done, failed or cancelled. */
export function shouldNotify(before: JobStatus | undefined, now: JobStatus): boolean {
  return before !== undefined && !isFinished(before) && isFinished(now);
}

export interface FinishNotice {
  title: string;
  options: NotificationOptions;
}

/** `Job “Long mix” done`, with what that means (or the error) in the body. */
export function finishNotice(job: Pick<JobDetails, "job_id" | "title" | "status" | "error">): FinishNotice {
  const word = STATUS_LABEL[job.status].toLowerCase();
  const detail = job.status === "failed" && job.error ? job.error : STATUS_MEANING[job.status];
  return {
    title: `Job “${job.title}” ${word}`,
    options: {
      body: `${job.title}: ${detail}`.slice(0, 300),
      // One notification per job, even from two tabs of its page.
      tag: `simgate-job-${job.job_id}`,
    },
  };
}

const PREFIX = "simgate:notify-when-finished:";

export const choiceKey = (jobId: string): string => `${PREFIX}${jobId}`;

/** Whether the user asked to be notified when this job finishes (in this tab's session). */
export function readChoice(storage: Pick<Storage, "getItem"> | undefined, jobId: string): boolean {
  try {
    return storage?.getItem(choiceKey(jobId)) === "on";
  } catch {
    return false; // storage refused (a privacy mode): the choice lasts as long as the page
  }
}

export function writeChoice(storage: Pick<Storage, "setItem" | "removeItem"> | undefined, jobId: string, on: boolean): void {
  try {
    if (on) storage?.setItem(choiceKey(jobId), "on");
    else storage?.removeItem(choiceKey(jobId));
  } catch {
    // as above
  }
}

/** What the note beside the button says. */
export function permissionNote(permission: NoticePermission, on: boolean): string {
  switch (permission) {
    case "unsupported":
      return "This browser cannot show notifications.";
    case "denied":
      return "Notifications are blocked for this site. Allow them in your browser's site settings, then try again.";
    default:
      return on
        ? "You will get a notification when this job finishes, while this page stays open."
        : "A notification when this job finishes, while this page stays open.";
  }
}
