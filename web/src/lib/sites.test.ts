import { describe, expect, it } from "vitest";
import type { Offer } from "../api/types";
import { formatSeconds } from "./format";
import {
  describeLicenceNeed,
  describeWaiting,
  formatLicenceUse,
  formatStartEstimate,
  licenceUse,
  soonestOffer,
} from "./sites";

const NOW = new Date("2026-03-01T12:00:00Z");
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000).toISOString();

function offer(simulator: string, changes: Partial<Offer> = {}): Offer {
  return {
    simulator,
    scheduler: "direct",
    available: true,
    reason: null,
    running: 0,
    waiting: 0,
    limits: { max_parallel_jobs: 4, licences: {}, max_jobs_per_user: null },
    licences_in_use: {},
    estimated_start: NOW.toISOString(),
    start_basis: "room now",
    estimated_duration_s: null,
    basis: "no history",
    ...changes,
  };
}

describe("an estimated start", () => {
  it("is now when it is less than a minute ahead, or past", () => {
    expect(formatStartEstimate(NOW.toISOString(), NOW)).toBe("now");
    expect(formatStartEstimate(later(45), NOW)).toBe("now");
    expect(formatStartEstimate(later(-300), NOW)).toBe("now");
  });
  it("is said in minutes, hours or days, roughly", () => {
    expect(formatStartEstimate(later(61), NOW)).toBe("in ~1 min");
    expect(formatStartEstimate(later(12 * 60 + 10), NOW)).toBe("in ~12 min");
    expect(formatStartEstimate(later(89 * 60), NOW)).toBe("in ~89 min");
    expect(formatStartEstimate(later(3 * 3600 + 600), NOW)).toBe("in ~3 h");
    expect(formatStartEstimate(later(3 * 86400), NOW)).toBe("in ~3 days");
  });
  it("is unknown without one", () => {
    expect(formatStartEstimate(null, NOW)).toBe("unknown");
    expect(formatStartEstimate("soon", NOW)).toBe("unknown");
  });
});

describe("a run's length", () => {
  it("is said in seconds, minutes and hours", () => {
    expect(formatSeconds(24.6)).toBe("25 s");
    expect(formatSeconds(65)).toBe("1 min 5 s");
    expect(formatSeconds(7380)).toBe("2 h 3 min");
  });
});

describe("licences", () => {
  it("in use are listed by name against what the site has", () => {
    const uses = licenceUse({ solver: 2, mesher: 1 }, { solver: 1 });
    expect(uses).toEqual([
      { name: "mesher", used: 0, total: 1 },
      { name: "solver", used: 1, total: 2 },
    ]);
    expect(formatLicenceUse(uses)).toBe("mesher 0/1, solver 1/2");
    expect(formatLicenceUse(licenceUse({}, {}))).toBe("none");
  });
  it("a run needs are said in a sentence, or not at all", () => {
    expect(describeLicenceNeed({ solver: 1 })).toBe("Each run holds 1 solver licence");
    expect(describeLicenceNeed({ solver: 2, mesher: 1 })).toBe("Each run holds 1 mesher licence and 2 solver licences");
    expect(describeLicenceNeed({})).toBeNull();
  });
});

describe("a line", () => {
  it("is said with its count", () => {
    expect(describeWaiting(0)).toBe("no one waiting");
    expect(describeWaiting(3)).toBe("3 waiting");
    expect(describeWaiting(0, { others: true })).toBe("no other job waiting");
    expect(describeWaiting(1, { others: true })).toBe("1 other job waiting");
    expect(describeWaiting(2, { others: true })).toBe("2 other jobs waiting");
  });
});

describe("the soonest offer", () => {
  it("is the available one that starts first, unknown starts last", () => {
    const offers = [
      offer("busy", { estimated_start: later(600) }),
      offer("unknown", { estimated_start: null }),
      offer("down", { available: false, reason: "unreachable", estimated_start: null }),
      offer("free", { estimated_start: later(5) }),
    ];
    expect(soonestOffer(offers)?.simulator).toBe("free");
    expect(soonestOffer(offers.slice(0, 3))?.simulator).toBe("busy");
  });
  it("then has the shorter line, then fewer running", () => {
    const start = { estimated_start: NOW.toISOString() };
    expect(soonestOffer([offer("a", { ...start, waiting: 2 }), offer("b", { ...start, waiting: 1 })])?.simulator).toBe("b");
    expect(soonestOffer([offer("a", { ...start, running: 3 }), offer("b", { ...start, running: 1 })])?.simulator).toBe("b");
  });
  it("is the only one there is, and none when none can take the job", () => {
    expect(soonestOffer([offer("down", { available: false })])?.simulator).toBe("down");
    expect(soonestOffer([offer("a", { available: false }), offer("b", { available: false })])).toBeNull();
    expect(soonestOffer([])).toBeNull();
  });
});
