import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, describeError } from "./errors";
import { apiRequest, buildQuery, parseLinkHeader, toPage } from "./http";

function respond(status: number, body: unknown, headers: Record<string, string> = {}, extra: Partial<Response> = {}) {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  const response = new Response(status === 204 ? null : text, { status, headers });
  Object.defineProperties(response, Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { value: v }])));
  vi.stubGlobal("fetch", vi.fn(async () => response));
}

afterEach(() => vi.unstubAllGlobals());

describe("parseLinkHeader", () => {
  it("keeps the query of each relation (the host in the links is the backend's)", () => {
    const links = parseLinkHeader(
      '<http://127.0.0.1:7071/api/case?page=1&per_page=1>; rel="first", <http://127.0.0.1:7071/api/case?continuation=abc&per_page=1>; rel="next"',
    );
    expect(links.first.get("page")).toBe("1");
    expect(links.next.get("continuation")).toBe("abc");
    expect(links.prev).toBeUndefined();
  });
  it("tolerates no header", () => expect(parseLinkHeader(null)).toEqual({}));
});

describe("toPage", () => {
  it("reads next from the Link header and the continuation token", () => {
    const response = new Response("[]", {
      headers: { Link: '<http://x/api/job?page=3&per_page=2>; rel="next"', "X-Continuation-Token": "t", "X-Per-Page": "2" },
    });
    const page = toPage([1, 2], response, 2, 20);
    expect(page).toMatchObject({ page: 2, perPage: 2, hasNext: true, hasPrev: true, continuation: "t" });
  });
  it("has no next page without a next link or token", () => {
    const page = toPage([], new Response("[]", { headers: { Link: '<http://x?page=1>; rel="first"' } }), 1, 20);
    expect(page.hasNext).toBe(false);
    expect(page.hasPrev).toBe(false);
  });
});

describe("buildQuery", () => {
  it("drops empty values", () => expect(buildQuery({ a: 1, b: "", c: undefined, d: false, e: "x y" })).toBe("?a=1&e=x+y"));
});

describe("apiRequest", () => {
  it("sends same-origin credentials and JSON", async () => {
    respond(201, { job_id: "j" }, { "Content-Type": "application/json" });
    const { data } = await apiRequest<{ job_id: string }>("/job", { method: "POST", body: { a: 1 } });
    expect(data.job_id).toBe("j");
    const [url, init] = (fetch as unknown as ReturnType<typeof vi.fn>).mock.calls[0];
    expect(url).toBe("/api/job");
    expect(init.credentials).toBe("same-origin");
    expect(init.headers["Content-Type"]).toBe("application/json");
  });

  it("turns problem+json into a typed error with field errors", async () => {
    respond(
      422,
      {
        type: "urn:simgate:problem:validation-failed",
        title: "Validation failed",
        status: 422,
        detail: "some field values are not valid",
        errors: [{ field: "speed_rpm", rule: "min", message: "must be at least 1000 rpm, not 50" }],
      },
      { "Content-Type": "application/problem+json; charset=utf-8" },
    );
    const error = await apiRequest("/job", { method: "POST", body: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.kind).toBe("problem");
    expect(error.slug).toBe("validation-failed");
    expect(error.fieldErrors[0]).toEqual({ field: "speed_rpm", rule: "min", message: "must be at least 1000 rpm, not 50" });
    expect(describeError(error)).toBe("Some field values are not valid.");
  });

  it("knows a 401 problem means signed out", async () => {
    respond(401, { type: "urn:simgate:problem:unauthorized", title: "Authentication required", status: 401 }, {
      "Content-Type": "application/problem+json",
    });
    const error = await apiRequest("/job").catch((e) => e);
    expect(error.kind).toBe("signed-out");
    expect(describeError(error)).toMatch(/Sign in again/);
  });

  it("knows the sign-in page answering instead of the API means signed out", async () => {
    respond(200, "<html></html>", { "Content-Type": "text/html" }, { redirected: true, url: "http://localhost:4280/.auth/login/aad?x=1" });
    const error = await apiRequest("/job").catch((e) => e);
    expect(error.kind).toBe("signed-out");
  });

  it("tells a route the server lacks from a missing resource", async () => {
    respond(404, "");
    const missingRoute = await apiRequest("/job/x/relaunch", { method: "POST" }).catch((e) => e);
    expect(missingRoute.kind).toBe("not-available");
    respond(404, { type: "urn:simgate:problem:not-found", title: "Not found", status: 404, detail: "there is no job 'x'" }, {
      "Content-Type": "application/problem+json",
    });
    const missingJob = await apiRequest("/job/x").catch((e) => e);
    expect(missingJob.kind).toBe("problem");
    expect(describeError(missingJob)).toBe("There is no job 'x'.");
  });

  it("says the server could not be reached when fetch fails", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const error = await apiRequest("/case").catch((e) => e);
    expect(error.kind).toBe("network");
    expect(describeError(error)).toMatch(/could not be reached/);
  });

  it("returns null for 204", async () => {
    respond(204, undefined);
    const { data } = await apiRequest("/job/x", { method: "DELETE" });
    expect(data).toBeNull();
  });
});
