import { describe, expect, it } from "vitest";
import type { CaseHeader } from "../api/types";
import { matchesCase } from "./caseSearch";
import { asSentence, formatBytes, formatDuration, formatRelative, localizeTimes } from "./format";

describe("format", () => {
  it("writes sizes for people", () => {
    expect(formatBytes(0)).toMatch(/^0 bytes?$/);
    expect(formatBytes(94)).toBe("94 bytes");
    expect(formatBytes(4166)).toBe("4.2 kB");
    expect(formatBytes(5_526_000)).toBe("5.5 MB");
  });
  it("writes durations and relative times", () => {
    expect(formatDuration("2026-01-01T00:00:00Z", "2026-01-01T00:01:05Z")).toBe("1 min 5 s");
    expect(formatRelative("2026-01-01T00:00:00Z", new Date("2026-01-01T00:05:00Z"))).toBe("5 minutes ago");
  });
});

describe("asSentence", () => {
  it("starts an API's message with a capital and ends it with a stop", () => {
    expect(asSentence(" must be at least 1000 rpm, not 50")).toBe("Must be at least 1000 rpm, not 50.");
    expect(asSentence("Is it?")).toBe("Is it?");
    expect(asSentence("")).toBe("");
  });
});

describe("localizeTimes", () => {
  it("rewrites ISO timestamps inside text, and nothing else", () => {
    const text = localizeTimes("cancelled by alice at 2026-11-23T08:44:47.272560+00:00");
    expect(text.startsWith("cancelled by alice at ")).toBe(true);
    expect(text).not.toContain("T08:44");
    expect(localizeTimes("queued on local (direct job 22951)")).toBe("queued on local (direct job 22951)");
  });
});

describe("case search", () => {
  const smoothie: CaseHeader = {
    id: "smoothie",
    title: "Smoothie blender",
    summary: "How evenly a blender mixes",
    tags: ["demo", "food"],
    version: 1,
    updated: "2026-01-01T00:00:00Z",
  };
  it("matches every word against title, id, summary and tags", () => {
    expect(matchesCase(smoothie, "", "")).toBe(true);
    expect(matchesCase(smoothie, "blender food", "")).toBe(true);
    expect(matchesCase(smoothie, "heat", "")).toBe(false);
    expect(matchesCase(smoothie, "", "Food")).toBe(true);
    expect(matchesCase(smoothie, "", "heat transfer")).toBe(false);
  });
});
