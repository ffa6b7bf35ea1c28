import { QueryClient, type Query } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { answer, fakeFetch, json } from "../test/fakeFetch";
import type { JobWithEtag, StatusAnswer } from "./jobs";
import { JOB_LIST_POLL_MS, STATUS_POLL_MS, jobListQuery, jobStatusQuery, queryKeys } from "./queries";
import type { JobDetails, JobStatus, JobStatusInfo, JobSummary, Page } from "./types";

vi.mock("./http", async (importOriginal) => {
  const http = await importOriginal<typeof import("./http")>();
  return { ...http, api: http.createApiClient({ baseUrl: "http://app.test" }) };
});

afterEach(() => vi.unstubAllGlobals());

const info = (status: JobStatus, progress: number | null = null): JobStatusInfo =>
  ({ status, uws_status: "EXECUTING", updated_at: "2025-01-01T00:00:00Z", detail: null, progress, cancel_requested: null }) as unknown as JobStatusInfo;

const details = (status: JobStatus): JobWithEtag => ({
  job: { job_id: "j1", status, progress: null, detail: null } as unknown as JobDetails,
  etag: '"1"',
});

/** The refetchInterval a query with this data gets. */
function intervalOf<T>(options: { refetchInterval?: unknown }, data: T | undefined): unknown {
  const decide = options.refetchInterval as (query: Query<T>) => unknown;
  return decide({ state: { data } } as Query<T>);
}

describe("a job's status query", () => {
  it("polls every 3 s while active and visible, 15 s while hidden, not at all once finished", () => {
    const visible = jobStatusQuery("j1", { enabled: true, visible: true });
    const hidden = jobStatusQuery("j1", { enabled: true, visible: false });
    const status = (s: JobStatus): StatusAnswer => ({ info: info(s), etag: null });
    expect(intervalOf(visible, undefined)).toBe(STATUS_POLL_MS.visible);
    expect(intervalOf(visible, status("running"))).toBe(3_000);
    expect(intervalOf(hidden, status("queued"))).toBe(15_000);
    for (const finished of ["done", "failed", "cancelled"] as const) expect(intervalOf(visible, status(finished))).toBe(false);
  });

  it("backs off after errors, up to a minute", () => {
    const { retryDelay } = jobStatusQuery("j1", { enabled: true, visible: true });
    const delay = retryDelay as (failures: number) => number;
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => delay(n))).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  });

  it("writes a new progress into the job and refreshes the job when the status moves", async () => {
    const client = new QueryClient();
    client.setQueryData(queryKeys.job("j1"), details("running"));
    fakeFetch(answer(200, info("running", 0.4), { ...json, ETag: '"2"' }), answer(200, info("cleanup"), { ...json, ETag: '"3"' }));

    await client.fetchQuery(jobStatusQuery("j1", { enabled: true, visible: true }));
    expect(client.getQueryData<JobWithEtag>(queryKeys.job("j1"))?.job.progress).toBe(0.4);
    expect(client.getQueryState(queryKeys.job("j1"))?.isInvalidated).toBe(false);

    await client.refetchQueries({ queryKey: queryKeys.jobStatus("j1") });
    expect(client.getQueryState(queryKeys.job("j1"))?.isInvalidated).toBe(true);
  });

  it("keeps its data on 304", async () => {
    const client = new QueryClient();
    const requests = fakeFetch(answer(200, info("running"), { ...json, ETag: '"2"' }), answer(304, undefined, { ETag: '"2"' }));
    const first = await client.fetchQuery(jobStatusQuery("j1", { enabled: true, visible: true }));
    await client.refetchQueries({ queryKey: queryKeys.jobStatus("j1") });
    expect(client.getQueryData(queryKeys.jobStatus("j1"))).toBe(first);
    expect(requests[1].headers.get("If-None-Match")).toBe('"2"');
  });
});

describe("a page of jobs", () => {
  it("is read again every 5 s only while one of its rows is active", () => {
    const options = jobListQuery({}, 1, 20);
    const page = (...statuses: JobStatus[]) =>
      ({ items: statuses.map((status) => ({ status }) as JobSummary) }) as Page<JobSummary>;
    expect(intervalOf(options, page("done", "running"))).toBe(JOB_LIST_POLL_MS);
    expect(intervalOf(options, page("done", "draft", "cancelled"))).toBe(false);
    expect(intervalOf(options, undefined)).toBe(false);
    expect(options.refetchIntervalInBackground).toBeFalsy();
  });
});
