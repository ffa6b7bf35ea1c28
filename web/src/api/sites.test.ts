import { afterEach, describe, expect, it, vi } from "vitest";
import { answer, fakeFetch, json, problemJson } from "../test/fakeFetch";
import { ApiError } from "./errors";
import { getJobOffers, listSites } from "./sites";

vi.mock("./http", async (importOriginal) => {
  const http = await importOriginal<typeof import("./http")>();
  return { ...http, api: http.createApiClient({ baseUrl: "http://app.test" }) };
});

afterEach(() => vi.unstubAllGlobals());

describe("site calls", () => {
  it("read a job's offers", async () => {
    const offers = { job_id: "j1", simulator: null, placement: "", offers: [] };
    const requests = fakeFetch(answer(200, offers, json));
    expect(await getJobOffers("j1")).toEqual(offers);
    expect(requests[0].url).toBe("http://app.test/api/job/j1/offers");
  });

  it("list the sites, which only admins may", async () => {
    const requests = fakeFetch(
      answer(200, [], json),
      answer(403, { type: "urn:simgate:problem:forbidden", title: "Forbidden", status: 403, detail: "the sites' view needs the admin role" }, problemJson),
    );
    expect(await listSites()).toEqual([]);
    expect(requests[0].url).toBe("http://app.test/api/simulators");
    const refused = await listSites().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(403);
  });
});
