import { api, bodyOf } from "./http";
import { listPage } from "./paging";
import type {
  Comparison,
  NewSweep,
  Page,
  PreviewAnswer,
  PreviewRequest,
  SweepCancelled,
  SweepCreated,
  SweepDetails,
  SweepListQuery,
  SweepRetried,
  SweepStarted,
  SweepSummary,
} from "./types";

const onSweep = (sweepId: string) => ({ path: { sweep_id: sweepId } });

/** A new sweep. The idempotency key makes a repeated click (or a retry after a lost answer) return the same sweep. */
export async function createSweep(sweep: NewSweep, idempotencyKey?: string): Promise<SweepCreated> {
  const header = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
  return bodyOf(await api.POST("/api/sweep", { params: { header }, body: sweep }));
}

export function listSweeps(
  filters: SweepListQuery,
  page = 1,
  perPage = 20,
  signal?: AbortSignal,
): Promise<Page<SweepSummary>> {
  const query = { case_id: filters.case_id };
  return listPage("sweep", query, page, perPage, (paging) =>
    api.GET("/api/sweep", { params: { query: { ...query, ...paging } }, signal }),
  );
}

export async function getSweep(sweepId: string, signal?: AbortSignal): Promise<SweepDetails> {
  return bodyOf(await api.GET("/api/sweep/{sweep_id}", { params: onSweep(sweepId), signal }));
}

/** Cancel every member that has not finished. */
export async function cancelSweep(sweepId: string): Promise<SweepCancelled> {
  return bodyOf(await api.POST("/api/sweep/{sweep_id}/cancel", { params: onSweep(sweepId) }));
}

/** Run every member that is still a draft (a sweep created without "run now"). */
export async function runSweep(sweepId: string): Promise<SweepStarted> {
  return bodyOf(await api.POST("/api/sweep/{sweep_id}/run", { params: onSweep(sweepId) }));
}

/** Run each failed member again (a new job per member; the failed one stays). */
export async function retrySweep(sweepId: string): Promise<SweepRetried> {
  return bodyOf(await api.POST("/api/sweep/{sweep_id}/retry", { params: onSweep(sweepId) }));
}

/** What a run or a sweep would be: bad values come back in the answer, not as a 422. */
export async function previewRuns(request: PreviewRequest, signal?: AbortSignal): Promise<PreviewAnswer> {
  return bodyOf(await api.POST("/api/preview", { body: request, signal }));
}

/** A job's scripts exactly as its start writes them, and each site's quote for it. */
export async function previewJob(jobId: string, signal?: AbortSignal): Promise<PreviewAnswer> {
  return bodyOf(await api.POST("/api/job/{job_id}/preview", { params: { path: { job_id: jobId } }, signal }));
}

/** What to compare: 2 to 50 jobs of one case, or a sweep's current members. */
export type CompareTarget = { jobIds: string[] } | { sweepId: string };

export async function compareJobs(target: CompareTarget, signal?: AbortSignal): Promise<Comparison> {
  const query = "sweepId" in target ? { sweep_id: target.sweepId } : { job: target.jobIds };
  return bodyOf(await api.GET("/api/compare", { params: { query }, signal }));
}
