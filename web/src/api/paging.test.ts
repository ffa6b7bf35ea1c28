import { describe, expect, it } from "vitest";
import { listPage, parseLinkHeader, toPage, type PageQuery } from "./paging";

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

describe("listPage", () => {
  it("reads the page after one it has seen by its continuation token, others by number", async () => {
    const asked: PageQuery[] = [];
    const read = async (paging: PageQuery) => {
      asked.push(paging);
      return { data: ["row"], response: new Response("[]", { headers: { "X-Continuation-Token": `after-${paging.page ?? "token"}` } }) };
    };
    await listPage("things", { q: "a" }, 1, 2, read);
    await listPage("things", { q: "a" }, 2, 2, read);
    await listPage("things", { q: "b" }, 2, 2, read);
    expect(asked).toEqual([
      { per_page: 2, page: 1 },
      { per_page: 2, continuation: "after-1" },
      { per_page: 2, page: 2 },
    ]);
  });
});
