import { useEffect, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { ApiError } from "../api/errors";
import { liveQuery } from "../api/queries";
import type { JobStatus, LogStream } from "../api/types";
import { Pacer } from "./livePacing";
import { isFollowing, type LiveRun } from "./liveRun";

/** One pacer per job, shared by every mount of its page within the app (a revisit does not start afresh). */
const pacers = new Map<string, Pacer>();
const MAX_PACERS = 20;

function pacerFor(jobId: string): Pacer {
  let pacer = pacers.get(jobId);
  if (!pacer) {
    pacer = new Pacer();
    pacers.set(jobId, pacer);
    if (pacers.size > MAX_PACERS) pacers.delete(pacers.keys().next().value as string);
  }
  return pacer;
}

export interface LiveRunState {
  run: LiveRun | undefined;
  /** The log shown, and a way to show the other. */
  log: LogStream;
  showLog: (log: LogStream) => void;
  /** More is to come (the job runs, or what is shown was not read to its end). */
  following: boolean;
  /** Following is paused: the page is hidden. */
  paused: boolean;
  /** The last look failed and another is coming (errors back off). */
  retrying: boolean;
  error: unknown;
  /** The server has no live looks (an older API): the caller follows the job's status instead. */
  unavailable: boolean;
}

/**
 * A job's live run (see liveQuery), followed while the page is visible, for every job handed to
 * the system (a finished one is read once, to its end). Showing the other log reads it at once
 * when the pacing allows, else with the next look.
 */
export function useLiveRun(jobId: string, status: JobStatus | undefined, visible: boolean): LiveRunState {
  const [choice, setChoice] = useState<{ jobId: string; log: LogStream }>({ jobId, log: "stdout" });
  const log = choice.jobId === jobId ? choice.log : "stdout";
  const pacer = pacerFor(jobId);
  const handedOn = status !== undefined && status !== "draft";
  const query = useQuery(liveQuery(jobId, { log, pacer, enabled: handedOn && visible }));
  const { refetch } = query;

  const shownBefore = useRef(log);
  useEffect(() => {
    if (shownBefore.current === log) return;
    shownBefore.current = log;
    if (handedOn && visible && pacer.wait() === 0) void refetch({ cancelRefetch: false });
  }, [log, handedOn, visible, pacer, refetch]);

  const error = query.error;
  return {
    run: query.data,
    log,
    showLog: (next) => setChoice({ jobId, log: next }),
    following: handedOn && isFollowing(query.data, log),
    paused: !visible,
    retrying: query.failureCount > 0 && query.fetchStatus !== "idle",
    error: query.failureCount > 0 ? (query.failureReason ?? error) : error,
    unavailable: error instanceof ApiError && error.kind === "not-available",
  };
}
