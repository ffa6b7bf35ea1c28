/**
 * What the pages read, as TanStack Query options: one key per resource, so that every page shares
 * one cache (a case list read for the jobs page's filter is not read again on the next visit).
 */
import { keepPreviousData, queryOptions, type QueryClient } from "@tanstack/react-query";
import { getSignedInUser } from "./auth";
import { getCase, listCases, type CaseListQuery } from "./cases";
import { ApiError } from "./errors";
import { getJob, getJobStatus, listJobs, type JobWithEtag, type StatusAnswer } from "./jobs";
import { isActive } from "./jobStatuses";
import { getLive } from "./live";
import { getOutputLink, listOutputs, readLinkedText, readOutputText } from "./outputs";
import { getJobOffers, listSites } from "./sites";
import { compareJobs, getSweep, listSweeps, previewJob, previewRuns, type CompareTarget } from "./studies";
import type {
  Comparison,
  JobListQuery,
  JobStatus,
  JobStatusInfo,
  LiveView,
  LogStream,
  Output,
  OutputLink,
  PreviewRequest,
  SweepDetails,
  SweepListQuery,
} from "./types";
import { applyView, etagFor, isBehind, isFollowing, nextAsk, type LiveRun } from "../job/liveRun";
import { pollDelay, retryDelay, type Pacer } from "../job/livePacing";

/** Cases change when an admin publishes one: a list read in the last minutes is good enough. */
const CASES_STALE_MS = 5 * 60_000;
/** How often a job's status is asked while it is active, with the page visible or hidden. */
export const STATUS_POLL_MS = { visible: 3_000, hidden: 15_000 } as const;
/** How often the jobs list is read again while a row is active (only while the page is visible). */
export const JOB_LIST_POLL_MS = 5_000;
/** How often a job's offers are read again while the page is visible (and when it shows again). */
export const OFFERS_POLL_MS = 30_000;
/** How often the admins' sites page is read again while it is visible. */
export const SITES_POLL_MS = 15_000;
/** How often a sweep is read again while it is being written or some member is not finished (page visible). */
export const SWEEP_POLL_MS = 4_000;
/** How often a comparison is read again while one of its jobs is active (page visible). */
export const COMPARE_POLL_MS = 10_000;
/** A preview of the same request is asked again only after this long (the quotes move slowly). */
const PREVIEW_STALE_MS = 30_000;
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
  outputText: (jobId: string, output: Output) =>
    ["jobs", "output-text", jobId, output.output_id, output.md5, output.taken_at ?? null] as const,
  outputLink: (jobId: string, outputId: string) => ["jobs", "output-link", jobId, outputId] as const,
  live: (jobId: string) => ["jobs", "live", jobId] as const,
  offers: (jobId: string) => ["jobs", "offers", jobId] as const,
  sites: ["sites"] as const,
  sweepLists: ["sweeps", "list"] as const,
  sweepList: (filters: SweepListQuery, page: number, perPage: number) => ["sweeps", "list", { ...filters, page, perPage }] as const,
  sweep: (sweepId: string) => ["sweeps", "detail", sweepId] as const,
  preview: (request: PreviewRequest) => ["preview", request] as const,
  jobPreview: (jobId: string, updated: string) => ["jobs", "preview", jobId, updated] as const,
  comparison: (target: CompareTarget) => ["compare", target] as const,
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
 * A job's status, followed while it is active where the API has no live looks (see liveQuery, which
 * follows the status otherwise): every 3 s (15 s while the page is hidden, at once
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

/**
 * Where a job could run and when each site would start it: read again every 30 s while the page is
 * visible, none while it is hidden, and at once when it shows again (the window's focus).
 */
export const offersQuery = (jobId: string) =>
  queryOptions({
    queryKey: queryKeys.offers(jobId),
    queryFn: ({ signal }) => getJobOffers(jobId, signal),
    refetchInterval: OFFERS_POLL_MS,
    refetchIntervalInBackground: false,
    refetchOnWindowFocus: true,
  });

/** Every site, as admins see it: read again every 15 s while the page is visible. */
export const sitesQuery = () =>
  queryOptions({
    queryKey: queryKeys.sites,
    queryFn: ({ signal }) => listSites(signal),
    refetchInterval: SITES_POLL_MS,
    refetchIntervalInBackground: false,
    refetchOnWindowFocus: true,
  });

/** A page of the user's sweeps, newest first. */
export const sweepListQuery = (filters: SweepListQuery, page: number, perPage: number) =>
  queryOptions({
    queryKey: queryKeys.sweepList(filters, page, perPage),
    queryFn: ({ signal }) => listSweeps(filters, page, perPage, signal),
    placeholderData: keepPreviousData,
  });

/** Whether a sweep may still change by itself: being written, or some member not finished. */
export const sweepMoves = (sweep: SweepDetails | undefined): boolean =>
  !!sweep && (sweep.state === "creating" || sweep.state === "active");

/**
 * A sweep with its counts and members: read again every 4 s while it moves (see sweepMoves) and
 * the page is visible; nothing while it is hidden, and at once when it shows again.
 */
export const sweepQuery = (sweepId: string, { visible }: { visible: boolean }) =>
  queryOptions({
    queryKey: queryKeys.sweep(sweepId),
    queryFn: ({ signal }) => getSweep(sweepId, signal),
    refetchInterval: (query) => (visible && sweepMoves(query.state.data) ? SWEEP_POLL_MS : false),
    refetchIntervalInBackground: false,
    refetchOnWindowFocus: true,
  });

/**
 * What a sweep (or one run) would be: its run count, each bad value, a rendered sample and the
 * quotes. The same request is not asked twice within 30 s; while another is asked the last answer
 * stays on screen.
 */
export const previewQuery = (request: PreviewRequest, { enabled = true }: { enabled?: boolean } = {}) =>
  queryOptions({
    queryKey: queryKeys.preview(request),
    queryFn: ({ signal }) => previewRuns(request, signal),
    enabled,
    staleTime: PREVIEW_STALE_MS,
    placeholderData: keepPreviousData,
  });

/** A draft's scripts as its start would write them, and the quotes: asked again once the draft changed. */
export const jobPreviewQuery = (jobId: string, updated: string) =>
  queryOptions({
    queryKey: queryKeys.jobPreview(jobId, updated),
    queryFn: ({ signal }) => previewJob(jobId, signal),
    staleTime: PREVIEW_STALE_MS,
  });

/** Jobs side by side: read again every 10 s while one of them is active and the page is visible. */
export const comparisonQuery = (target: CompareTarget) =>
  queryOptions({
    queryKey: queryKeys.comparison(target),
    queryFn: ({ signal }) => compareJobs(target, signal),
    refetchInterval: (query) => (comparisonMoves(query.state.data) ? COMPARE_POLL_MS : false),
    refetchIntervalInBackground: false,
  });

const comparisonMoves = (comparison: Comparison | undefined): boolean =>
  !!comparison && comparison.jobs.some((job) => isActive(job.status));

/** The job's results, read again when its status or number of results changes. */
export const outputsQuery = (jobId: string, status: JobStatus, count: number) =>
  queryOptions({
    queryKey: [...queryKeys.outputs(jobId), status, count] as const,
    queryFn: ({ signal }) => listOutputs(jobId, signal),
    placeholderData: (previous, previousQuery) => (previousQuery?.queryKey[2] === jobId ? previous : undefined),
  });

/**
 * An output's text from Blob storage; the same file (by md5, and for a live file by when it was
 * taken) is not read twice. A live file is read as liveFileText does.
 */
export const outputTextQuery = (jobId: string, output: Output) =>
  queryOptions({
    queryKey: queryKeys.outputText(jobId, output),
    queryFn: ({ client, signal }) =>
      output.state === "partial" ? liveFileText(client, jobId, output, signal) : readOutputText(jobId, output.output_id, signal),
    staleTime: Infinity,
    retry: false,
  });

/** A link to an output is used until a minute before it expires (it lasts about 15). */
const LINK_MARGIN_MS = 60_000;

export const outputLinkQuery = (jobId: string, outputId: string) =>
  queryOptions({
    queryKey: queryKeys.outputLink(jobId, outputId),
    queryFn: ({ signal }) => getOutputLink(jobId, outputId, signal),
    staleTime: (query) => {
      const expires = Date.parse(query.state.data?.expires_at ?? "");
      return Number.isFinite(expires) ? Math.max(0, expires - LINK_MARGIN_MS - Date.now()) : 0;
    },
    gcTime: 15 * 60_000,
  });

/**
 * A live file's text as last taken, through one link per file that is asked for again only
 * shortly before it expires: the blob is overwritten in place, so the link serves each newer copy
 * (read past the browser's cache). A link storage refuses (expired early) is asked for once more.
 */
async function liveFileText(client: QueryClient, jobId: string, file: Output, signal: AbortSignal): Promise<string> {
  const linkQuery = outputLinkQuery(jobId, file.output_id);
  const link: OutputLink = await client.fetchQuery(linkQuery);
  try {
    return await readLinkedText(link, signal, { fresh: true });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 403)) throw error;
    client.removeQueries({ queryKey: linkQuery.queryKey, exact: true });
    return readLinkedText(await client.fetchQuery(linkQuery), signal, { fresh: true });
  }
}

/**
 * A job's live run, followed with looks at /api/job/{id}/live (one request for status, progress,
 * the log shown, the series and the live files): paced by `pacer` (see livePacing: every 4 s,
 * 1 s while behind, at most 20 a minute), with If-None-Match so that while nothing changed the API
 * answers 304 and the query keeps its data, errors backing off. Once the job has finished and what
 * is shown was read to its end, no more. Each look updates the job's details as the status query
 * does (see applyStatus). Disabled while the page is hidden.
 */
export const liveQuery = (jobId: string, { log, pacer, enabled }: { log: LogStream; pacer: Pacer; enabled: boolean }) =>
  queryOptions({
    queryKey: queryKeys.live(jobId),
    queryFn: async ({ client, signal }): Promise<LiveRun> => {
      const known = client.getQueryData<LiveRun>(queryKeys.live(jobId));
      const ask = nextAsk(known, log);
      pacer.note();
      const answer = await getLive(jobId, ask, etagFor(known, ask), signal);
      if (!answer.view) {
        if (known) return known;
        throw new ApiError("unexpected", 304, "The server sent an answer that could not be read.");
      }
      const run = applyView(known, answer.view, answer.etag, ask);
      return { ...run, refreshedFor: applyLive(client, jobId, answer.view, run.refreshedFor) };
    },
    enabled,
    structuralSharing: false,
    staleTime: (query) => (isFollowing(query.state.data, log) ? 0 : Infinity),
    refetchInterval: (query) =>
      pollDelay(pacer, { following: isFollowing(query.state.data, log), behind: isBehind(query.state.data, log) }),
    refetchIntervalInBackground: false,
    retry: (_failures, error) => !(error instanceof ApiError) || isPassing(error),
    retryDelay: (failures) => retryDelay(pacer, failures),
  });

/** An error that may pass by itself: not a missing route or job, not a lost session or right. */
function isPassing(error: ApiError): boolean {
  if (error.kind === "not-available" || error.kind === "signed-out") return false;
  return ![400, 403, 404].includes(error.status);
}

/**
 * A look's status, progress and message written into the job's details; a status other than the
 * details' refreshes them (once per status: the one refreshed for is returned).
 */
function applyLive(client: QueryClient, jobId: string, view: LiveView, refreshedFor: JobStatus | null): JobStatus | null {
  const details = client.getQueryData<JobWithEtag>(queryKeys.job(jobId));
  if (!details) return refreshedFor;
  const { job } = details;
  if (view.status !== job.status) {
    if (refreshedFor === view.status) return refreshedFor;
    void client.invalidateQueries({ queryKey: queryKeys.job(jobId), exact: true });
    void client.invalidateQueries({ queryKey: queryKeys.jobLists });
    return view.status;
  }
  if (view.progress !== job.progress || (view.detail ?? "") !== (job.detail ?? "")) {
    client.setQueryData(queryKeys.job(jobId), { ...details, job: { ...job, progress: view.progress, detail: view.detail } });
  }
  return refreshedFor;
}
