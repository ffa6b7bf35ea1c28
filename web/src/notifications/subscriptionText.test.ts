import { describe, expect, it } from "vitest";
import { EVENT_NAMES } from "../api/notifications";
import { formatDateTime } from "../lib/format";
import {
  EVENT_MEANING,
  describeErrorClass,
  formatLatency,
  localizeUtcTimes,
  placeSubscriptionErrors,
  placedCount,
  shortId,
  subscriptionState,
  subscriptionStatusText,
} from "./subscriptionText";

const sub = (enabled: boolean, disabled_reason = "") => ({ enabled, disabled_reason });

describe("a subscription's status", () => {
  it("is Active while enabled, whatever reason is left over", () => {
    expect(subscriptionState(sub(true))).toBe("active");
    expect(subscriptionStatusText(sub(true, "paused by its owner"))).toBe("Active");
  });

  it("is Paused when its owner paused it", () => {
    expect(subscriptionState(sub(false, "paused by its owner"))).toBe("paused");
    expect(subscriptionStatusText(sub(false, "paused by its owner"))).toBe("Paused");
  });

  it("is Disabled, with the reason and its time in the user's locale, when simgate stopped it", () => {
    const text = subscriptionStatusText(sub(false, "the endpoint answered 410 Gone at 2026-11-23 08:44:47 UTC"));
    expect(subscriptionState(sub(false, "the endpoint answered 410 Gone"))).toBe("disabled");
    expect(text).toBe(`Disabled: the endpoint answered 410 Gone at ${formatDateTime("2026-11-23T08:44:47Z")}`);
    expect(subscriptionStatusText(sub(false, ""))).toBe("Disabled");
  });

  it("localizes each UTC time of a reason and leaves other text alone", () => {
    const reason = "every delivery failed for 120 hours (since 2026-11-18 08:00:00 UTC)";
    expect(localizeUtcTimes(reason)).toBe(`every delivery failed for 120 hours (since ${formatDateTime("2026-11-18T08:00:00Z")})`);
    expect(localizeUtcTimes("no time here")).toBe("no time here");
  });
});

describe("events and attempts in words", () => {
  it("explain every event the API offers", () => {
    for (const name of EVENT_NAMES) expect(EVENT_MEANING[name]).toMatch(/\.$|…$/);
    expect(EVENT_NAMES).toContain("job.finished");
  });

  it("name error classes, keeping unknown ones readable", () => {
    expect(describeErrorClass("timeout")).toBe("timed out");
    expect(describeErrorClass("something_new")).toBe("something new");
    expect(describeErrorClass(null)).toBe("");
  });

  it("give latencies in ms, s or minutes", () => {
    expect(formatLatency(12.4)).toBe("12 ms");
    expect(formatLatency(1234)).toBe("1.2 s");
    expect(formatLatency(65_000)).toBe("1 min 5 s");
    expect(formatLatency(-1)).toBe("—");
  });

  it("shorten long ids to their ends", () => {
    expect(shortId("0de61b111046-8203372529056-c2c43abe")).toBe("…c2c43abe");
    expect(shortId("sw-1")).toBe("sw-1");
  });
});

describe("a 422's messages", () => {
  it("go beside their inputs, items of a list beside the list, the rest to the top", () => {
    const placed = placeSubscriptionErrors([
      { field: "url", message: "10.0.0.1 is a private address" },
      { field: "events[1]", message: "not an event" },
      { field: "case_id", message: "no such case" },
      { field: "sweep_id", message: "bad sweep" },
      { field: "", message: "general" },
    ]);
    expect(placed.byInput.url).toEqual(["10.0.0.1 is a private address"]);
    expect(placed.byInput.events).toEqual(["not an event"]);
    expect(placed.byInput.case_id).toEqual(["no such case"]);
    expect(placed.byInput.description).toEqual([]);
    expect(placed.general.map((e) => e.message)).toEqual(["bad sweep", "general"]);
    expect(placedCount(placed)).toBe(3);
  });
});
