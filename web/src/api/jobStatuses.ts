/**
 * The job statuses and their groups, as runtime values generated from the API's OpenAPI document
 * (`JobStatus`, `ActiveJobStatus`, `TerminalJobStatus`): a status the backend adds appears here
 * with the next build.
 */
import { activeJobStatusValues, jobStatusValues, terminalJobStatusValues } from "./schema";
import type { ActiveJobStatus, JobStatus, TerminalJobStatus } from "./types";

export const JOB_STATUSES: readonly JobStatus[] = jobStatusValues;

/** Handed to the system, not finished: pages watch these for changes. */
const ACTIVE: ReadonlySet<JobStatus> = new Set(activeJobStatusValues);
const TERMINAL: ReadonlySet<JobStatus> = new Set(terminalJobStatusValues);

export const isActive = (status: JobStatus): status is ActiveJobStatus => ACTIVE.has(status);
export const isFinished = (status: JobStatus): status is TerminalJobStatus => TERMINAL.has(status);
