import { describe, expect, it } from "vitest";
import type { JobStatus, LiveView, LogTail } from "../api/types";
import { applyView, etagFor, hasOutput, isBehind, isFollowing, nextAsk, type LiveRun } from "./liveRun";
import { LOG_CAP_BYTES } from "./logBuffer";
import { seriesPoints } from "./series";

const tail = (stream: string, offset: number, text: string, complete = false): LogTail => ({
  stream,
  offset,
  next_offset: offset + text.length,
  text,
  complete,
  truncated_before: 0,
});

function view(parts: {
  status?: JobStatus;
  log?: LogTail;
  series?: LogTail;
  sizes?: Record<string, number>;
  files?: LiveView["files"];
  progress?: number | null;
}): LiveView {
  const sizes = parts.sizes ?? {};
  return {
    job_id: "j1",
    status: parts.status ?? "running",
    updated_at: "2025-01-01T00:00:00Z",
    detail: "step 1 of 10",
    progress: parts.progress ?? 0.1,
    streams: Object.fromEntries(Object.entries(sizes).map(([name, size]) => [name, { size, truncated_before: 0 }])),
    log: parts.log ?? tail("stdout", 0, ""),
    series: parts.series ?? tail("series", 0, ""),
    files: parts.files ?? [],
  };
}

function follow(run: LiveRun | undefined, v: LiveView, log: "stdout" | "stderr" = "stdout"): LiveRun {
  return applyView(run, v, '"e"', nextAsk(run, log));
}

describe("a live run", () => {
  it("asks from the start first, then on from where each stream was read", () => {
    expect(nextAsk(undefined, "stdout")).toEqual({ log: "stdout", logOffset: 0, seriesOffset: 0 });
    const run = follow(
      undefined,
      view({ log: tail("stdout", 0, "a\nb\n"), series: tail("series", 0, "x,y\n1,2\n"), sizes: { stdout: 4, series: 8 } }),
    );
    expect(nextAsk(run, "stdout")).toEqual({ log: "stdout", logOffset: 4, seriesOffset: 8 });
    expect(run.logs.stdout.text).toBe("a\nb\n");
    expect(seriesPoints(run.series)).toEqual([{ x: 1, y: 2 }]);
    expect(run.status).toBe("running");
    expect(run.progress).toBe(0.1);
  });

  it("reads a long log it meets for the first time from the cap before its end", () => {
    const run = follow(undefined, view({ sizes: { stdout: 10, stderr: 5 * LOG_CAP_BYTES } }));
    expect(nextAsk(run, "stderr").logOffset).toBe(4 * LOG_CAP_BYTES);
  });

  it("puts each log piece in its own log", () => {
    let run = follow(undefined, view({ log: tail("stdout", 0, "out\n"), sizes: { stdout: 4, stderr: 4 } }));
    run = follow(run, view({ log: tail("stderr", 0, "err\n"), sizes: { stdout: 4, stderr: 4 } }), "stderr");
    expect(run.logs.stdout.text).toBe("out\n");
    expect(run.logs.stderr.text).toBe("err\n");
  });

  it("sends the last ETag only when asking the same again", () => {
    const run = follow(undefined, view({ log: tail("stdout", 0, "a\n"), sizes: { stdout: 2 } }));
    expect(etagFor(run, nextAsk(run, "stdout"))).toBeNull(); // it read on: a new question
    const again = follow(run, view({ log: tail("stdout", 2, ""), sizes: { stdout: 2 } }));
    expect(etagFor(again, nextAsk(again, "stdout"))).toBe('"e"');
    expect(etagFor(again, nextAsk(again, "stderr"))).toBeNull();
    expect(etagFor(undefined, nextAsk(undefined, "stdout"))).toBeNull();
  });

  it("follows while the job runs, and after it until the log shown and the series are complete", () => {
    expect(isFollowing(undefined, "stdout")).toBe(true);
    const running = follow(undefined, view({}));
    expect(isFollowing(running, "stdout")).toBe(true);
    const ended = follow(running, view({ status: "done", log: tail("stdout", 0, "", true), series: tail("series", 0, "") }));
    expect(isFollowing(ended, "stdout")).toBe(true);
    const complete = follow(ended, view({ status: "done", log: tail("stdout", 0, "", true), series: tail("series", 0, "", true) }));
    expect(isFollowing(complete, "stdout")).toBe(false);
    expect(isFollowing(complete, "stderr")).toBe(true); // not read yet
  });

  it("knows when a stream it shows has more than it read", () => {
    const run = follow(undefined, view({ log: tail("stdout", 0, "ab"), sizes: { stdout: 2, stderr: 50, series: 0 } }));
    expect(isBehind(run, "stdout")).toBe(false);
    expect(isBehind(run, "stderr")).toBe(true);
    expect(isBehind(follow(run, view({ log: tail("stdout", 2, ""), sizes: { stdout: 9 } })), "stdout")).toBe(true);
  });

  it("remembers the live files it saw", () => {
    const file = (name: string) =>
      ({ output_id: "live-csv1", name, size: 10, content_type: "text/csv", md5: null, state: "partial", taken_at: "2025-01-01T00:00:01Z" }) as const;
    let run = follow(undefined, view({}));
    expect(hasOutput(run)).toBe(false);
    run = follow(run, view({ files: [file("profile.csv")] }));
    run = follow(run, view({ status: "done", files: [] }));
    expect(run.files).toEqual([]);
    expect(run.fileNames).toEqual(["profile.csv"]);
    expect(hasOutput(run)).toBe(true);
  });
});
