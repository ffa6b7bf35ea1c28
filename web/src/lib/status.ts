import type { JobStatus } from "../api/types";

// How statuses read to people. Which statuses exist, and which are active or finished, comes from
// the API's document (api/jobStatuses.ts); a status added there fails the build here until it has words.

/** A status's name on chips, filters and the history. */
export const STATUS_LABEL: Record<JobStatus, string> = {
  draft: "Draft",
  submitted: "Submitted",
  queued: "Queued",
  running: "Running",
  cleanup: "Collecting results",
  done: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** What each status means, for tooltips and the job page. */
export const STATUS_MEANING: Record<JobStatus, string> = {
  draft: "Not started: its values can still be changed.",
  submitted: "Run was requested; waiting for the manager to pick it up.",
  queued: "Handed to a simulator; waiting for its turn.",
  running: "Running on the simulator.",
  cleanup: "Finished running; uploading its results.",
  done: "Finished; its results are ready.",
  failed: "Stopped with an error.",
  cancelled: "Stopped on request.",
};

/** Who moved a job, in words: "api:alice" → "alice", "manager" → "Job manager". */
export function describeSource(source: string): string {
  if (source.startsWith("api:")) return source.slice(4);
  switch (source) {
    case "manager":
      return "Job manager";
    case "agent":
      return "Simulator";
    case "reconciler":
      return "Reconciler";
    default:
      return source;
  }
}
