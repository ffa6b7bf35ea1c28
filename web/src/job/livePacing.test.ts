import { describe, expect, it } from "vitest";
import { LIVE_PACE, Pacer, pollDelay, retryDelay } from "./livePacing";

describe("live pacing", () => {
  it("asks every 4 s, every 1 s while behind, and not at all once there is nothing more to come", () => {
    const pacer = new Pacer();
    expect(pollDelay(pacer, { following: true, behind: false }, 0)).toBe(4_000);
    expect(pollDelay(pacer, { following: true, behind: true }, 0)).toBe(1_000);
    expect(pollDelay(pacer, { following: false, behind: true }, 0)).toBe(false);
  });

  it("never sends more than 20 looks in a minute", () => {
    const pacer = new Pacer();
    let now = 0;
    const sent: number[] = [];
    // a page that is always behind, for ten minutes
    while (now < 600_000) {
      pacer.note(now);
      sent.push(now);
      now += pollDelay(pacer, { following: true, behind: true }, now) as number;
    }
    for (const start of sent) {
      expect(sent.filter((t) => t >= start && t < start + 60_000).length).toBeLessThanOrEqual(LIVE_PACE.perWindow);
    }
    expect(sent.length).toBeGreaterThanOrEqual(10 * LIVE_PACE.perWindow - 1);
  });

  it("keeps within 15 a minute when not behind", () => {
    const pacer = new Pacer();
    let now = 0;
    let count = 0;
    while (now < 60_000) {
      pacer.note(now);
      count += 1;
      now += pollDelay(pacer, { following: true, behind: false }, now) as number;
    }
    expect(count).toBe(15);
  });

  it("says how long until one more look fits", () => {
    const pacer = new Pacer({ perWindow: 2, windowMs: 10_000 });
    pacer.note(0);
    expect(pacer.wait(1)).toBe(0);
    pacer.note(1_000);
    expect(pacer.wait(2_000)).toBe(8_000);
    expect(pacer.wait(10_000)).toBe(0);
    expect(pacer.count(10_000)).toBe(1);
  });

  it("backs off after errors, up to a minute, and within the budget", () => {
    const pacer = new Pacer();
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => retryDelay(pacer, n, 0))).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    for (let i = 0; i < LIVE_PACE.perWindow; i++) pacer.note(i * 100);
    expect(retryDelay(pacer, 0, 2_000)).toBe(60_000 - 2_000);
  });
});
