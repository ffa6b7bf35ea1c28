import type { Query } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { answer, fakeFetch, json } from "../test/fakeFetch";
import { COMPARE_POLL_MS, SWEEP_POLL_MS, comparisonQuery, sweepQuery } from "./queries";
import { compareJobs, createSweep, previewRuns } from "./studies";
import type { Comparison, SweepDetails, SweepState } from "./types";

vi.mock("./http", async (importOriginal) => {
  const http = await importOriginal<typeof import("./http")>();
  return { ...http, api: http.createApiClient({ baseUrl: "http://app.test" }) };
});

afterEach(() => vi.unstubAllGlobals());

function intervalOf<T>(options: { refetchInterval?: unknown }, data: T | undefined): unknown {
  const decide = options.refetchInterval as (query: Query<T>) => unknown;
  return decide({ state: { data } } as Query<T>);
}

const sweep = (state: SweepState) => ({ sweep_id: "sw-1", state }) as SweepDetails;

describe("study calls", () => {
  it("create a sweep with an Idempotency-Key", async () => {
    const requests = fakeFetch(answer(201, { sweep_id: "sw-1", job_ids: ["a", "b"] }, json));
    const body = { case_id: "smoothie", title: "Speeds", vary: { speed_rpm: [4000, 8000] }, mode: "grid" as const, run: true };
    expect(await createSweep(body, "key-1")).toEqual({ sweep_id: "sw-1", job_ids: ["a", "b"] });
    expect(requests[0].url).toBe("http://app.test/api/sweep");
    expect(requests[0].headers.get("Idempotency-Key")).toBe("key-1");
    expect(await requests[0].json()).toEqual(body);
  });

  it("preview with a POST that writes nothing", async () => {
    const requests = fakeFetch(answer(200, { runs: 2, valid: true }, json));
    await previewRuns({ case_id: "smoothie", vary: { speed_rpm: [1, 2] } });
    expect(requests[0].method).toBe("POST");
    expect(requests[0].url).toBe("http://app.test/api/preview");
  });

  it("compare jobs as job=A&job=B, or a sweep's members", async () => {
    const requests = fakeFetch(answer(200, { case_id: "smoothie", jobs: [] }, json));
    await compareJobs({ jobIds: ["a", "b"] });
    await compareJobs({ sweepId: "sw-1" });
    expect(requests[0].url).toBe("http://app.test/api/compare?job=a&job=b");
    expect(requests[1].url).toBe("http://app.test/api/compare?sweep_id=sw-1");
  });
});

describe("a sweep's query", () => {
  it("polls while the sweep moves and the page is visible, not at all while hidden or once finished", () => {
    const visible = sweepQuery("sw-1", { visible: true });
    const hidden = sweepQuery("sw-1", { visible: false });
    expect(intervalOf(visible, sweep("active"))).toBe(SWEEP_POLL_MS);
    expect(intervalOf(visible, sweep("creating"))).toBe(SWEEP_POLL_MS);
    expect(intervalOf(hidden, sweep("active"))).toBe(false);
    expect(intervalOf(visible, sweep("finished"))).toBe(false);
    expect(intervalOf(visible, sweep("draft"))).toBe(false);
    expect(visible.refetchIntervalInBackground).toBe(false);
  });
});

describe("a comparison's query", () => {
  it("is read again while one of its jobs is active", () => {
    const query = comparisonQuery({ jobIds: ["a", "b"] });
    const of = (...statuses: string[]) => ({ jobs: statuses.map((status) => ({ status })) }) as Comparison;
    expect(intervalOf(query, of("done", "running"))).toBe(COMPARE_POLL_MS);
    expect(intervalOf(query, of("done", "failed"))).toBe(false);
  });
});
