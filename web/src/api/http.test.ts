import { afterEach, describe, expect, it, vi } from "vitest";
import { answer, fakeFetch, json, problemJson } from "../test/fakeFetch";
import { ApiError, describeError } from "./errors";
import { buildQuery, createApiClient } from "./http";

// In the browser the client's paths are relative to the page; here they need a host.
const api = createApiClient({ baseUrl: "http://app.test" });

afterEach(() => vi.unstubAllGlobals());

describe("buildQuery", () => {
  it("drops empty values", () => expect(buildQuery({ a: 1, b: "", c: undefined, d: false, e: "x y" })).toBe("?a=1&e=x+y"));
  it("repeats the name of a list", () => expect(buildQuery({ job: ["A", "B", ""], sweep_id: undefined })).toBe("?job=A&job=B"));
});

describe("the API client", () => {
  it("sends same-origin credentials, asks for JSON or problems, and sends JSON", async () => {
    const requests = fakeFetch(answer(201, { job_id: "j" }, json));
    const { data } = await api.POST("/api/job", { body: { case_id: "smoothie", job_title: "Test 1" } });
    expect(data?.job_id).toBe("j");
    const [request] = requests;
    expect(request.url).toBe("http://app.test/api/job");
    expect(request.credentials).toBe("same-origin");
    expect(request.headers.get("Accept")).toBe("application/json, application/problem+json");
    expect(request.headers.get("Content-Type")).toBe("application/json");
    expect(await request.json()).toEqual({ case_id: "smoothie", job_title: "Test 1" });
  });

  it("is typed by the API's document: a path, query or body it does not have fails tsc", () => {
    const calls = [
      // @ts-expect-error: the API has no /api/jobs
      () => api.GET("/api/jobs"),
      // @ts-expect-error: the jobs list has no ?colour=
      () => api.GET("/api/job", { params: { query: { colour: "red" } } }),
      // @ts-expect-error: a new job needs a title
      () => api.POST("/api/job", { body: { case_id: "smoothie" } }),
      // @ts-expect-error: a job's path needs its id
      () => api.GET("/api/job/{job_id}"),
    ];
    expect(calls).toHaveLength(4);
  });

  it("fills path parameters and leaves empty query values out", async () => {
    const requests = fakeFetch(answer(200, [], json));
    await api.GET("/api/job", { params: { query: { status: "running", case_id: undefined, all: false, per_page: 20 } } });
    await api.GET("/api/case/{case_id}", { params: { path: { case_id: "a b/c" } } });
    expect(requests.map((r) => r.url)).toEqual([
      "http://app.test/api/job?status=running&per_page=20",
      "http://app.test/api/case/a%20b%2Fc",
    ]);
  });

  it("turns problem+json into a typed error keeping the detail and the field errors", async () => {
    fakeFetch(
      answer(
        422,
        {
          type: "urn:simgate:problem:validation-failed",
          title: "Validation failed",
          status: 422,
          detail: "some field values are not valid",
          errors: [{ field: "speed_rpm", rule: "min", message: "must be at least 1000 rpm, not 50" }],
        },
        problemJson,
      ),
    );
    const error = await api.POST("/api/job", { body: { case_id: "x", job_title: "t" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.kind).toBe("problem");
    expect(apiError.slug).toBe("validation-failed");
    expect(apiError.problem?.detail).toBe("some field values are not valid");
    expect(apiError.fieldErrors[0]).toEqual({ field: "speed_rpm", rule: "min", message: "must be at least 1000 rpm, not 50" });
    expect(describeError(error)).toBe("Some field values are not valid.");
  });

  it("knows a 401 problem means signed out", async () => {
    fakeFetch(answer(401, { type: "urn:simgate:problem:unauthorized", title: "Authentication required", status: 401 }, problemJson));
    const error = (await api.GET("/api/job").catch((e: unknown) => e)) as ApiError;
    expect(error.kind).toBe("signed-out");
    expect(describeError(error)).toMatch(/Sign in again/);
  });

  it("knows the sign-in page answering instead of the API means signed out", async () => {
    fakeFetch(answer(200, "<html></html>", { "Content-Type": "text/html" }, { redirected: true, url: "http://app.test/.auth/login/aad?x=1" }));
    const error = (await api.GET("/api/job").catch((e: unknown) => e)) as ApiError;
    expect(error.kind).toBe("signed-out");
  });

  it("tells a route the server lacks from a missing resource", async () => {
    fakeFetch(answer(404, ""));
    const missingRoute = (await api.POST("/api/job/{job_id}/relaunch", { params: { path: { job_id: "x" } } }).catch((e: unknown) => e)) as ApiError;
    expect(missingRoute.kind).toBe("not-available");
    fakeFetch(answer(404, { type: "urn:simgate:problem:not-found", title: "Not found", status: 404, detail: "there is no job 'x'" }, problemJson));
    const missingJob = (await api.GET("/api/job/{job_id}", { params: { path: { job_id: "x" } } }).catch((e: unknown) => e)) as ApiError;
    expect(missingJob.kind).toBe("problem");
    expect(describeError(missingJob)).toBe("There is no job 'x'.");
  });

  it("says the server could not be reached when fetch fails, and lets an abort be an abort", async () => {
    fakeFetch(new TypeError("Failed to fetch"));
    const error = (await api.GET("/api/case").catch((e: unknown) => e)) as ApiError;
    expect(error.kind).toBe("network");
    expect(describeError(error)).toMatch(/could not be reached/);
    fakeFetch(new DOMException("The operation was aborted.", "AbortError"));
    const aborted = (await api.GET("/api/case").catch((e: unknown) => e)) as Error;
    expect(aborted).not.toBeInstanceOf(ApiError);
    expect(aborted.name).toBe("AbortError");
  });

  it("cannot read an answer that is not JSON", async () => {
    fakeFetch(answer(200, "<html></html>", { "Content-Type": "text/html" }));
    const error = (await api.GET("/api/case").catch((e: unknown) => e)) as ApiError;
    expect(error.kind).toBe("unexpected");
  });

  it("returns no body for 204 and passes a 304 on to the caller", async () => {
    fakeFetch(answer(204));
    const deleted = await api.DELETE("/api/job/{job_id}", { params: { path: { job_id: "x" } } });
    expect(deleted.response.status).toBe(204);
    expect(deleted.data).toBeUndefined();
    fakeFetch(answer(304, undefined, { ETag: '"7"' }));
    const unchanged = await api.GET("/api/job/{job_id}/status", {
      params: { path: { job_id: "x" }, header: { "If-None-Match": '"7"' } },
    });
    expect(unchanged.response.status).toBe(304);
  });
});
