import { ApiError } from "./errors";
import { apiRequest } from "./http";
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
} from "./types";

const jobPath = (jobId: string) => `/job/${encodeURIComponent(jobId)}`;

export function listJobs(
  filters: JobListQuery,
  page = 1,
  perPage = 20,
  signal?: AbortSignal,
): Promise<Page<JobSummary>> {
  return listPage<JobSummary>(
    "/job",
    { status: filters.status, case_id: filters.case_id, user: filters.user, all: filters.all ? "true" : undefined },
    page,
    perPage,
    signal,
  );
}

export interface JobWithEtag {
  job: JobDetails;
  etag: string | null;
}

export async function getJob(jobId: string, signal?: AbortSignal): Promise<JobWithEtag> {
  const { data, response } = await apiRequest<JobDetails>(jobPath(jobId), { signal });
  return { job: data, etag: response.headers.get("ETag") };
}

/** A new draft. The idempotency key makes a repeated click (or a retry after a lost answer) return the same job. */
export async function createJob(job: NewJob, idempotencyKey?: string): Promise<JobCreated> {
  const headers: Record<string, string> = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
  const { data } = await apiRequest<JobCreated>("/job", { method: "POST", body: job, headers });
  return data;
}

/** Set values of a draft; with the job's ETag a concurrent change answers 412. */
export async function setJobFields(jobId: string, fields: FieldValues, etag?: string | null): Promise<FieldsUpdated> {
  const headers: Record<string, string> = etag ? { "If-Match": etag } : {};
  const { data } = await apiRequest<FieldsUpdated>(jobPath(jobId), { method: "PATCH", body: { fields }, headers });
  return data;
}

export async function runJob(jobId: string): Promise<RunAccepted> {
  const { data } = await apiRequest<RunAccepted>(jobPath(jobId), { method: "POST" });
  return data;
}

export async function cancelJob(jobId: string): Promise<CancelAccepted> {
  const { data } = await apiRequest<CancelAccepted>(`${jobPath(jobId)}/cancel`, { method: "POST" });
  return data;
}

export async function deleteJob(jobId: string): Promise<void> {
  await apiRequest<null>(jobPath(jobId), { method: "DELETE" });
}

/** A new draft with the same case version and values → its id. */
export async function relaunchJob(jobId: string): Promise<JobCreated> {
  try {
    const { data } = await apiRequest<JobCreated>(`${jobPath(jobId)}/relaunch`, { method: "POST" });
    return data;
  } catch (error) {
    if (error instanceof ApiError && error.kind === "not-available") {
      throw new ApiError("not-available", error.status, "Relaunch is not available on this server yet.");
    }
    throw error;
  }
}

export interface StatusPoll {
  /** The ETag of the status the caller has: the API answers 304 (here: `info` null) while it is current. */
  etag?: string | null;
  signal?: AbortSignal;
}

export interface StatusAnswer {
  info: JobStatusInfo | null;
  etag: string | null;
}

/** A job's status, asked conditionally: cheap for the API while nothing changed. */
export async function getJobStatus(jobId: string, options: StatusPoll = {}): Promise<StatusAnswer> {
  const { data, response } = await apiRequest<JobStatusInfo | null>(`${jobPath(jobId)}/status`, {
    headers: options.etag ? { "If-None-Match": options.etag } : {},
    signal: options.signal,
  });
  return { info: response.status === 304 ? null : data, etag: response.headers.get("ETag") ?? options.etag ?? null };
}
