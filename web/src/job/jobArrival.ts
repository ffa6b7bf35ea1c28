import { useEffect, useState } from "react";
import { useLocation } from "react-router";
import { ApiError } from "../api/errors";

/** What the page that sent the user to a job passes along (navigation state). */
export interface JobPageState {
  /** Shown once on the job page: what just happened. */
  notice?: string;
  /** A run that failed right after the draft was created (the draft exists). */
  runError?: { status: number; problem: ApiError["problem"]; message: string };
}

/** A run error as navigation state (which holds plain data, not errors). */
export function runErrorState(error: unknown): JobPageState["runError"] {
  return error instanceof ApiError
    ? { status: error.status, problem: error.problem, message: error.message }
    : { status: 0, problem: null, message: String(error) };
}

function restoreError(saved: JobPageState["runError"]): ApiError | null {
  if (!saved) return null;
  return new ApiError(saved.problem ? "problem" : "unexpected", saved.status, saved.message, saved.problem);
}

/** The notice and run error of the latest arrival on the job page, which the page may then change. */
export function useJobArrival() {
  const location = useLocation();
  const arrival = (location.state ?? {}) as JobPageState;
  const [notice, setNotice] = useState<string | undefined>(arrival.notice);
  const [runError, setRunError] = useState<unknown>(() => restoreError(arrival.runError));
  useEffect(() => {
    setNotice(arrival.notice);
    setRunError(restoreError(arrival.runError));
    // a new arrival (another job after Relaunch, or the same one again)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [location.key]);
  return { notice, setNotice, runError, setRunError };
}
