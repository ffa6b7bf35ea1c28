import { ApiError } from "./errors";
import { api, bodyOf } from "./http";
import { listPage } from "./paging";
import type {
  CancelAccepted,
  FieldValues,
  FieldsUpdated,
  JobCreated,
  JobDetails,
  JobListQuery,
  JobStatusInfo,
  JobSummary,
  NewJob,
  Page,
  RunAccepted,
  RunRequest,
} from "./types";

const onJob = (jobId: string) => ({ path: { job_id: jobId } });

export function listJobs(
  filters: JobListQuery,
  page = 1,
  perPage = 20,
  signal?: AbortSignal,
): Promise<Page<JobSummary>> {
  const query = {
    status: filters.status,
    case_id: filters.case_id,
    user: filters.user,
    all: filters.all || undefined,
    sweep_id: filters.sweep_id,
  };
  return listPage("job", query, page, perPage, (paging) =>
    api.GET("/api/job", { params: { query: { ...query, ...paging } }, signal }),
  );
}

export interface JobWithEtag {
  job: JobDetails;
  etag: string | null;
}

export async function getJob(jobId: string, signal?: AbortSignal): Promise<JobWithEtag> {
  const answer = await api.GET("/api/job/{job_id}", { params: onJob(jobId), signal });
  return { job: bodyOf(answer), etag: answer.response.headers.get("ETag") };
}

/** A new draft. The idempotency key makes a repeated click (or a retry after a lost answer) return the same job. */
export async function createJob(job: NewJob, idempotencyKey?: string): Promise<JobCreated> {
  const header = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
  return bodyOf(await api.POST("/api/job", { params: { header }, body: job }));
}

/** Set values of a draft; with the job's ETag a concurrent change answers 412. */
export async function setJobFields(jobId: string, fields: FieldValues, etag?: string | null): Promise<FieldsUpdated> {
  const header = etag ? { "If-Match": etag } : {};
  return bodyOf(await api.PATCH("/api/job/{job_id}", { params: { ...onJob(jobId), header }, body: { fields } }));
}

/** Start a draft: on `simulator` when one is chosen (a body), else on the offer that starts it soonest (no body). */
export async function runJob(jobId: string, simulator?: string | null): Promise<RunAccepted> {
  const body: RunRequest | undefined = simulator ? { simulator } : undefined;
  return bodyOf(await api.POST("/api/job/{job_id}", { params: onJob(jobId), body }));
}

export async function cancelJob(jobId: string): Promise<CancelAccepted> {
  return bodyOf(await api.POST("/api/job/{job_id}/cancel", { params: onJob(jobId) }));
}

export async function deleteJob(jobId: string): Promise<void> {
  await api.DELETE("/api/job/{job_id}", { params: onJob(jobId) });
}

/** A new draft with the same case version and values → its id. */
export async function relaunchJob(jobId: string): Promise<JobCreated> {
  try {
    return bodyOf(await api.POST("/api/job/{job_id}/relaunch", { params: onJob(jobId) }));
  } catch (error) {
    if (error instanceof ApiError && error.kind === "not-available") {
      throw new ApiError("not-available", error.status, "Relaunch is not available on this server yet.");
    }
    throw error;
  }
}

/** A job's status and the ETag it came with, for the next conditional request. */
export interface StatusAnswer {
  info: JobStatusInfo;
  etag: string | null;
}

/**
 * A job's status, asked with `If-None-Match` when the caller has one: while nothing changed the API
 * answers 304 without a body, and the caller's answer is the current one (returned as it is).
 */
export async function getJobStatus(jobId: string, known?: StatusAnswer, signal?: AbortSignal): Promise<StatusAnswer> {
  const header = known?.etag ? { "If-None-Match": known.etag } : {};
  const answer = await api.GET("/api/job/{job_id}/status", { params: { ...onJob(jobId), header }, signal });
  if (answer.response.status === 304 && known) return known;
  return { info: bodyOf(answer), etag: answer.response.headers.get("ETag") };
}
