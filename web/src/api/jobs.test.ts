import { afterEach, describe, expect, it, vi } from "vitest";
import { answer, fakeFetch, json } from "../test/fakeFetch";
import { createJob, getJobStatus, runJob, setJobFields } from "./jobs";

vi.mock("./http", async (importOriginal) => {
  const http = await importOriginal<typeof import("./http")>();
  return { ...http, api: http.createApiClient({ baseUrl: "http://app.test" }) };
});

afterEach(() => vi.unstubAllGlobals());

const running = { status: "running", uws_status: "EXECUTING", updated_at: "2025-01-01T00:00:00Z", detail: null, progress: 0.5, cancel_requested: null };

describe("job calls", () => {
  it("create a job with an Idempotency-Key", async () => {
    const requests = fakeFetch(answer(201, { job_id: "j1" }, json));
    expect(await createJob({ case_id: "smoothie", job_title: "Test 1" }, "key-1")).toEqual({ job_id: "j1" });
    expect(requests[0].method).toBe("POST");
    expect(requests[0].headers.get("Idempotency-Key")).toBe("key-1");
  });

  it("set fields with If-Match, only when the ETag is known", async () => {
    const requests = fakeFetch(answer(200, { success: true, fields: { speed_rpm: 6000 } }, json));
    await setJobFields("j1", { speed_rpm: 6000 }, '"3"');
    await setJobFields("j1", { speed_rpm: 6000 }, null);
    expect(requests[0].method).toBe("PATCH");
    expect(requests[0].url).toBe("http://app.test/api/job/j1");
    expect(requests[0].headers.get("If-Match")).toBe('"3"');
    expect(requests[1].headers.has("If-Match")).toBe(false);
    expect(await requests[0].json()).toEqual({ fields: { speed_rpm: 6000 } });
  });

  it("run a job without a body, or with the simulator chosen", async () => {
    const requests = fakeFetch(answer(202, { success: true, status: "submitted" }, json));
    await runJob("j1");
    await runJob("j1", "local");
    expect(requests[0].method).toBe("POST");
    expect(requests[0].url).toBe("http://app.test/api/job/j1");
    expect(await requests[0].text()).toBe("");
    expect(requests[0].headers.has("Content-Type")).toBe(false);
    expect(await requests[1].json()).toEqual({ simulator: "local" });
    expect(requests[1].headers.get("Content-Type")).toMatch(/^application\/json/);
  });

  it("ask for the status with If-None-Match and keep what they had on 304", async () => {
    const requests = fakeFetch(answer(200, running, { ...json, ETag: '"5"' }), answer(304, undefined, { ETag: '"5"' }));
    const first = await getJobStatus("j1");
    expect(first).toEqual({ info: running, etag: '"5"' });
    expect(requests[0].headers.has("If-None-Match")).toBe(false);
    const second = await getJobStatus("j1", first);
    expect(requests[1].headers.get("If-None-Match")).toBe('"5"');
    expect(second).toBe(first);
  });
});
