import { QueryClient, type Query } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { answer, fakeFetch, json } from "../test/fakeFetch";
import type { LiveRun } from "../job/liveRun";
import { Pacer } from "../job/livePacing";
import { ApiError } from "./errors";
import type { JobWithEtag, StatusAnswer } from "./jobs";
import {
  JOB_LIST_POLL_MS,
  OFFERS_POLL_MS,
  SITES_POLL_MS,
  STATUS_POLL_MS,
  jobListQuery,
  jobStatusQuery,
  liveQuery,
  offersQuery,
  outputTextQuery,
  queryKeys,
  sitesQuery,
} from "./queries";
import type { JobDetails, JobStatus, JobStatusInfo, JobSummary, Output, Page } from "./types";

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

describe("a job's live run", () => {
  const look = (status: JobStatus, log: { offset: number; text: string }, progress = 0.2) => ({
    job_id: "j1",
    status,
    updated_at: "2025-01-01T00:00:00Z",
    detail: `at ${progress}`,
    progress,
    streams: { stdout: { size: log.offset + log.text.length, truncated_before: 0 }, series: { size: 0, truncated_before: 0 } },
    log: { stream: "stdout", offset: log.offset, next_offset: log.offset + log.text.length, text: log.text, complete: false, truncated_before: 0 },
    series: { stream: "series", offset: 0, next_offset: 0, text: "", complete: false, truncated_before: 0 },
    files: [],
  });
  const options = (pacer = new Pacer()) => liveQuery("j1", { log: "stdout", pacer, enabled: true });

  it("reads on from where it was, asks again with If-None-Match and keeps its data on 304", async () => {
    const client = new QueryClient();
    const pacer = new Pacer();
    const requests = fakeFetch(
      answer(200, look("running", { offset: 0, text: "one\n" }), { ...json, ETag: '"1"' }),
      answer(200, look("running", { offset: 4, text: "" }), { ...json, ETag: '"2"' }),
      answer(304, undefined, { ETag: '"2"' }),
    );
    await client.fetchQuery(options(pacer));
    await client.refetchQueries({ queryKey: queryKeys.live("j1") });
    const second = client.getQueryData<LiveRun>(queryKeys.live("j1"));
    await client.refetchQueries({ queryKey: queryKeys.live("j1") });
    expect(client.getQueryData(queryKeys.live("j1"))).toBe(second);
    expect(second?.logs.stdout.text).toBe("one\n");
    expect(requests.map((r) => new URL(r.url).search)).toEqual([
      "?log=stdout&log_offset=0&series_offset=0",
      "?log=stdout&log_offset=4&series_offset=0",
      "?log=stdout&log_offset=4&series_offset=0",
    ]);
    expect(requests.map((r) => r.headers.get("If-None-Match"))).toEqual([null, null, '"2"']);
    expect(pacer.count()).toBe(3);
  });

  it("writes progress into the job, and refreshes the job once when the status moves", async () => {
    const client = new QueryClient();
    client.setQueryData(queryKeys.job("j1"), details("running"));
    fakeFetch(
      answer(200, look("running", { offset: 0, text: "a\n" }, 0.5), { ...json, ETag: '"1"' }),
      answer(200, look("cleanup", { offset: 2, text: "b\n" }, 1), { ...json, ETag: '"2"' }),
      answer(200, look("cleanup", { offset: 4, text: "c\n" }, 1), { ...json, ETag: '"3"' }),
    );
    await client.fetchQuery(options());
    expect(client.getQueryData<JobWithEtag>(queryKeys.job("j1"))?.job.progress).toBe(0.5);
    expect(client.getQueryData<JobWithEtag>(queryKeys.job("j1"))?.job.detail).toBe("at 0.5");
    expect(client.getQueryState(queryKeys.job("j1"))?.isInvalidated).toBe(false);

    await client.refetchQueries({ queryKey: queryKeys.live("j1") });
    expect(client.getQueryState(queryKeys.job("j1"))?.isInvalidated).toBe(true);
    expect(client.getQueryData<LiveRun>(queryKeys.live("j1"))?.refreshedFor).toBe("cleanup");

    client.setQueryData(queryKeys.job("j1"), details("running")); // the refreshed details are not back yet
    await client.refetchQueries({ queryKey: queryKeys.live("j1") });
    expect(client.getQueryState(queryKeys.job("j1"))?.isInvalidated).toBe(false);
  });

  it("polls every 4 s while the job runs and stops once the run is read to its end", () => {
    const pacer = new Pacer();
    const run = { status: "running", logs: { stdout: { complete: false, next: 0 } }, series: { complete: false, next: 0 }, streams: {} } as unknown as LiveRun;
    expect(intervalOf(options(pacer), run)).toBe(4_000);
    const over = { ...run, status: "done", logs: { stdout: { complete: true } }, series: { complete: true } } as unknown as LiveRun;
    expect(intervalOf(options(pacer), over)).toBe(false);
    expect(options(pacer).refetchIntervalInBackground).toBe(false);
  });

  it("tries again after errors that may pass, not after a missing route or job", () => {
    const retry = options().retry as (failures: number, error: unknown) => boolean;
    expect(retry(1, new ApiError("network", 0, "down"))).toBe(true);
    expect(retry(1, new ApiError("problem", 503, "busy"))).toBe(true);
    expect(retry(1, new ApiError("not-available", 404, "no route"))).toBe(false);
    expect(retry(1, new ApiError("problem", 404, "no job"))).toBe(false);
    expect(retry(1, new ApiError("signed-out", 401, "signed out"))).toBe(false);
  });
});

describe("a live file's text", () => {
  const copy = (taken_at: string): Output =>
    ({ output_id: "live-csv1", name: "profile.csv", size: 10, content_type: "text/csv", md5: null, state: "partial", taken_at }) as Output;

  it("is read once per copy, past the browser's cache, through one link until it nears its expiry", async () => {
    const client = new QueryClient();
    const expires = new Date(Date.now() + 15 * 60_000).toISOString();
    const calls: Array<{ url: string; cache?: RequestCache }> = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: Request | string, init?: RequestInit) => {
        const url = typeof input === "string" ? input : input.url;
        calls.push({ url, cache: init?.cache });
        if (url.includes("/api/")) return answer(200, { url: "https://blob.test/live/profile.csv?sig=x", expires_at: expires }, json);
        return new Response(`x,t\n0,${calls.length}\n`, { status: 200 });
      }),
    );
    const first = await client.fetchQuery(outputTextQuery("j1", copy("2025-01-01T00:00:01Z")));
    const again = await client.fetchQuery(outputTextQuery("j1", copy("2025-01-01T00:00:01Z")));
    const second = await client.fetchQuery(outputTextQuery("j1", copy("2025-01-01T00:00:06Z")));
    expect(again).toBe(first);
    expect(second).not.toBe(first);
    expect(calls.filter((c) => c.url.includes("/api/"))).toHaveLength(1);
    const reads = calls.filter((c) => c.url.startsWith("https://blob.test/"));
    expect(reads).toHaveLength(2);
    expect(reads.every((c) => c.cache === "no-store")).toBe(true);
  });
});

describe("offers and sites", () => {
  it("read a job's offers every 30 s at most, only while the page is visible, and again when it shows", () => {
    const options = offersQuery("j1");
    expect(OFFERS_POLL_MS).toBeGreaterThanOrEqual(30_000);
    expect(options.refetchInterval).toBe(OFFERS_POLL_MS);
    expect(options.refetchIntervalInBackground).toBe(false);
    expect(options.refetchOnWindowFocus).toBe(true);
  });

  it("read the sites every 15 s while the page is visible", () => {
    const options = sitesQuery();
    expect(options.refetchInterval).toBe(SITES_POLL_MS);
    expect(SITES_POLL_MS).toBe(15_000);
    expect(options.refetchIntervalInBackground).toBe(false);
  });
});
