import type { Query } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { answer, fakeFetch, json, problemJson } from "../test/fakeFetch";
import { ApiError } from "../api/errors";
import {
  DELIVERIES_POLL_MS,
  SUBSCRIPTIONS_POLL_MS,
  changeSubscription,
  createSubscription,
  deleteSubscription,
  deliveriesQuery,
  listDeliveries,
  redeliver,
  subscriptionsQuery,
  testSubscription,
} from "../api/notifications";

vi.mock("../api/http", async (importOriginal) => {
  const http = await importOriginal<typeof import("../api/http")>();
  return { ...http, api: http.createApiClient({ baseUrl: "http://app.test" }) };
});

afterEach(() => vi.unstubAllGlobals());

describe("subscription calls", () => {
  it("create one with its URL and events, and get its secret", async () => {
    const requests = fakeFetch(answer(201, { id: "wh-1", url: "https://x.test/h", secret: "whsec_abc" }, json));
    const body = { url: "https://x.test/h", events: ["job.finished" as const], case_id: null, description: "" };
    expect((await createSubscription(body)).secret).toBe("whsec_abc");
    expect(requests[0].method).toBe("POST");
    expect(requests[0].url).toBe("http://app.test/api/subscription");
    expect(await requests[0].json()).toEqual(body);
  });

  it("a refused URL is a 422 naming the url field", async () => {
    fakeFetch(
      answer(
        422,
        { type: "urn:simgate:problem:validation-failed", title: "Validation failed", status: 422,
          detail: "10.0.0.1 is a private address", errors: [{ field: "url", message: "10.0.0.1 is a private address" }] },
        problemJson,
      ),
    );
    const refused = await createSubscription({ url: "http://10.0.0.1/hook", events: ["job.finished"] }).catch((e) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).fieldErrors).toEqual([{ field: "url", message: "10.0.0.1 is a private address", rule: undefined }]);
  });

  it("pause with a PATCH, delete, test and redeliver by id", async () => {
    const requests = fakeFetch(
      answer(200, { id: "wh-1", enabled: false }, json),
      answer(204),
      answer(202, { delivery_id: "msg_1_ping_1" }, json),
      answer(202, { delivery_id: "msg_1_ping_1" }, json),
    );
    await changeSubscription("wh-1", { enabled: false });
    await deleteSubscription("wh-1");
    expect(await testSubscription("wh-1")).toEqual({ delivery_id: "msg_1_ping_1" });
    await redeliver("wh-1", "msg_1_ping_1");
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "PATCH http://app.test/api/subscription/wh-1",
      "DELETE http://app.test/api/subscription/wh-1",
      "POST http://app.test/api/subscription/wh-1/test",
      "POST http://app.test/api/subscription/wh-1/deliveries/msg_1_ping_1/redeliver",
    ]);
    expect(await requests[0].json()).toEqual({ enabled: false });
  });

  it("read the latest deliveries with a limit", async () => {
    const requests = fakeFetch(answer(200, [], json));
    await listDeliveries("wh-1", 20);
    expect(requests[0].url).toBe("http://app.test/api/subscription/wh-1/deliveries?limit=20");
  });
});

function intervalOf<T>(options: { refetchInterval?: unknown }, data: T | undefined): unknown {
  const decide = options.refetchInterval as number | ((query: Query<T>) => unknown);
  return typeof decide === "function" ? decide({ state: { data } } as Query<T>) : decide;
}

describe("the settings page's reads", () => {
  it("read an open delivery log every 5 s and the list every 30 s, only while the page is visible", () => {
    const deliveries = deliveriesQuery("wh-1");
    const list = subscriptionsQuery();
    expect(intervalOf(deliveries, [])).toBe(DELIVERIES_POLL_MS);
    expect(DELIVERIES_POLL_MS).toBe(5_000);
    expect(deliveries.refetchIntervalInBackground).toBe(false);
    expect(deliveries.refetchOnWindowFocus).toBe(true);
    expect(intervalOf(list, [])).toBe(SUBSCRIPTIONS_POLL_MS);
    expect(list.refetchIntervalInBackground).toBe(false);
  });
});
