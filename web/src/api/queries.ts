/**
 * What the pages read, as TanStack Query options: one key per resource, so that every page shares
 * one cache (a case list read for the jobs page's filter is not read again on the next visit).
 */
import { keepPreviousData, queryOptions, type QueryClient } from "@tanstack/react-query";
import { getSignedInUser } from "./auth";
import { getCase, listCases, type CaseListQuery } from "./cases";
import { getJob, getJobStatus, listJobs, type JobWithEtag, type StatusAnswer } from "./jobs";
import { isActive } from "./jobStatuses";
import { listOutputs, readOutputText } from "./outputs";
import type { JobListQuery, JobStatus, JobStatusInfo, Output } from "./types";

/** Cases change when an admin publishes one: a list read in the last minutes is good enough. */
const CASES_STALE_MS = 5 * 60_000;
/** How often a job's status is asked while it is active, with the page visible or hidden. */
export const STATUS_POLL_MS = { visible: 3_000, hidden: 15_000 } as const;
/** How often the jobs list is read again while a row is active (only while the page is visible). */
export const JOB_LIST_POLL_MS = 5_000;
const MAX_BACKOFF_MS = 60_000;

export const queryKeys = {
  signedIn: ["signed-in"] as const,
  caseList: (query: CaseListQuery) => ["cases", "list", query] as const,
  case: (caseId: string, version?: number) => ["cases", "detail", caseId, version ?? "latest"] as const,
  jobLists: ["jobs", "list"] as const,
  jobList: (filters: JobListQuery, page: number, perPage: number) => ["jobs", "list", { ...filters, page, perPage }] as const,
  job: (jobId: string) => ["jobs", "detail", jobId] as const,
  jobStatus: (jobId: string) => ["jobs", "status", jobId] as const,
  outputs: (jobId: string) => ["jobs", "outputs", jobId] as const,
  outputText: (jobId: string, output: Output) => ["jobs", "output-text", jobId, output.output_id, output.md5] as const,
};

export const signedInQuery = () =>
  queryOptions({ queryKey: queryKeys.signedIn, queryFn: ({ signal }) => getSignedInUser(signal), staleTime: Infinity, retry: false });

export const caseListQuery = (query: CaseListQuery) =>
  queryOptions({
    queryKey: queryKeys.caseList(query),
    queryFn: ({ signal }) => listCases(query, signal),
    staleTime: CASES_STALE_MS,
    placeholderData: keepPreviousData,
  });

/** A case version never changes once published; the latest one may. */
export const caseQuery = (caseId: string, version?: number) =>
  queryOptions({
    queryKey: queryKeys.case(caseId, version),
    queryFn: ({ signal }) => getCase(caseId, version, signal),
    staleTime: version === undefined ? 0 : Infinity,
  });

/** A page of jobs, read again every 5 s while one of its rows is active and the page is visible. */
export const jobListQuery = (filters: JobListQuery, page: number, perPage: number) =>
  queryOptions({
    queryKey: queryKeys.jobList(filters, page, perPage),
    queryFn: ({ signal }) => listJobs(filters, page, perPage, signal),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.items.some((job) => isActive(job.status)) ? JOB_LIST_POLL_MS : false),
  });

export const jobQuery = (jobId: string) =>
  queryOptions({ queryKey: queryKeys.job(jobId), queryFn: ({ signal }) => getJob(jobId, signal) });

/**
 * A job's status, followed while it is active: every 3 s (15 s while the page is hidden, at once
 * when it shows again), with `If-None-Match`, so while nothing changed the API answers 304 without
 * a body and the query keeps its data. Errors back off (2 s, 4 s, ... 60 s). A new status refreshes
 * the job's details; a new progress or detail is written into them.
 */
export const jobStatusQuery = (jobId: string, { enabled, visible }: { enabled: boolean; visible: boolean }) =>
  queryOptions({
    queryKey: queryKeys.jobStatus(jobId),
    queryFn: async ({ client, signal }) => {
      const known = client.getQueryData<StatusAnswer>(queryKeys.jobStatus(jobId));
      const answer = await getJobStatus(jobId, known, signal);
      if (answer !== known) applyStatus(client, jobId, answer.info);
      return answer;
    },
    enabled,
    refetchInterval: (query) => {
      const info = query.state.data?.info;
      if (info && !isActive(info.status)) return false;
      return visible ? STATUS_POLL_MS.visible : STATUS_POLL_MS.hidden;
    },
    refetchIntervalInBackground: true,
    retry: true,
    retryDelay: (failures) => Math.min(MAX_BACKOFF_MS, 2_000 * 2 ** failures),
  });

function applyStatus(client: QueryClient, jobId: string, info: JobStatusInfo): void {
  const details = client.getQueryData<JobWithEtag>(queryKeys.job(jobId));
  if (!details) return;
  const { job } = details;
  if (info.status !== job.status) {
    void client.invalidateQueries({ queryKey: queryKeys.job(jobId), exact: true });
    void client.invalidateQueries({ queryKey: queryKeys.jobLists });
  } else if (info.progress !== job.progress || info.detail !== job.detail) {
    client.setQueryData(queryKeys.job(jobId), { ...details, job: { ...job, progress: info.progress, detail: info.detail } });
  }
}

/** The job's results, read again when its status or number of results changes. */
export const outputsQuery = (jobId: string, status: JobStatus, count: number) =>
  queryOptions({
    queryKey: [...queryKeys.outputs(jobId), status, count] as const,
    queryFn: ({ signal }) => listOutputs(jobId, signal),
    placeholderData: (previous, previousQuery) => (previousQuery?.queryKey[2] === jobId ? previous : undefined),
  });

/** An output's text from Blob storage; the same file (by md5) is not read twice. */
export const outputTextQuery = (jobId: string, output: Output) =>
  queryOptions({
    queryKey: queryKeys.outputText(jobId, output),
    queryFn: ({ signal }) => readOutputText(jobId, output.output_id, signal),
    staleTime: Infinity,
    retry: false,
  });
