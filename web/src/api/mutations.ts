/**
 * What the pages change, as TanStack mutations (their errors pass the client's MutationCache, which
 * handles a lost session once for the app). Each refreshes the cached reads it makes stale.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { cancelJob, createJob, deleteJob, relaunchJob, runJob, setJobFields } from "./jobs";
import { queryKeys } from "./queries";
import { cancelSweep, createSweep, retrySweep, runSweep } from "./studies";
import type { FieldValues, NewJob, NewSweep } from "./types";

/**
 * A new draft. Lists are dropped rather than marked stale: the next visit reads them afresh
 * instead of showing, for a moment, a list without the new job.
 */
export function useCreateJob() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ job, idempotencyKey }: { job: NewJob; idempotencyKey: string }) => createJob(job, idempotencyKey),
    onSuccess: () => client.removeQueries({ queryKey: queryKeys.jobLists }),
  });
}

/** Values of a draft. Its details are refreshed by whoever saves, once the whole save (and run) is over. */
export function useSetJobFields() {
  return useMutation({
    mutationFn: ({ jobId, fields, etag }: { jobId: string; fields: FieldValues; etag: string | null }) =>
      setJobFields(jobId, fields, etag),
  });
}

/** Start a draft, on `simulator` or (without one) on the offer that starts it soonest. */
export function useRunJob() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ jobId, simulator }: { jobId: string; simulator?: string | null }) => runJob(jobId, simulator),
    onSettled: (_answer, _error, { jobId }) => {
      void client.invalidateQueries({ queryKey: queryKeys.offers(jobId) });
    },
  });
}

export function useCancelJob() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (jobId: string) => cancelJob(jobId),
    onSettled: (_answer, _error, jobId) => {
      void client.invalidateQueries({ queryKey: queryKeys.job(jobId) });
    },
  });
}

export function useDeleteJob() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (jobId: string) => deleteJob(jobId),
    onSuccess: () => client.removeQueries({ queryKey: queryKeys.jobLists }),
  });
}

export function useRelaunchJob() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (jobId: string) => relaunchJob(jobId),
    onSuccess: () => client.removeQueries({ queryKey: queryKeys.jobLists }),
  });
}

/** A new sweep: its members are new jobs, so both lists are dropped. */
export function useCreateSweep() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ sweep, idempotencyKey }: { sweep: NewSweep; idempotencyKey: string }) => createSweep(sweep, idempotencyKey),
    onSuccess: () => {
      client.removeQueries({ queryKey: queryKeys.sweepLists });
      client.removeQueries({ queryKey: queryKeys.jobLists });
    },
  });
}

/** Cancel every member that has not finished; the sweep and the job lists are read again. */
export function useCancelSweep() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (sweepId: string) => cancelSweep(sweepId),
    onSettled: (_answer, _error, sweepId) => {
      void client.invalidateQueries({ queryKey: queryKeys.sweep(sweepId) });
      void client.invalidateQueries({ queryKey: queryKeys.jobLists });
    },
  });
}

/** Run the members still drafts; the sweep and the job lists are read again. */
export function useRunSweep() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (sweepId: string) => runSweep(sweepId),
    onSettled: (_answer, _error, sweepId) => {
      void client.invalidateQueries({ queryKey: queryKeys.sweep(sweepId) });
      void client.invalidateQueries({ queryKey: queryKeys.jobLists });
    },
  });
}

/** Run the failed members again (new jobs); the sweep and the job lists are read again. */
export function useRetrySweep() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (sweepId: string) => retrySweep(sweepId),
    onSettled: (_answer, _error, sweepId) => {
      void client.invalidateQueries({ queryKey: queryKeys.sweep(sweepId) });
      void client.invalidateQueries({ queryKey: queryKeys.jobLists });
    },
  });
}
