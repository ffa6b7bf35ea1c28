import { api, bodyOf } from "./http";
import type { LiveView, LogStream } from "./types";

/** Where a live look reads from: which log, and each stream's byte offset. */
export interface LiveAsk {
  log: LogStream;
  logOffset: number;
  seriesOffset: number;
}

/** A live look and the ETag it came with; `view` is null when the API answered 304 (nothing changed). */
export interface LiveAnswer {
  view: LiveView | null;
  etag: string | null;
}

/**
 * One look at a job while it runs: status, progress, a piece of one log and of the series, live files.
 * With the ETag of the caller's last answer the API answers 304 without a body while nothing changed.
 */
export async function getLive(jobId: string, ask: LiveAsk, etag?: string | null, signal?: AbortSignal): Promise<LiveAnswer> {
  const header = etag ? { "If-None-Match": etag } : {};
  const answer = await api.GET("/api/job/{job_id}/live", {
    params: {
      path: { job_id: jobId },
      query: { log: ask.log, log_offset: ask.logOffset, series_offset: ask.seriesOffset },
      header,
    },
    signal,
  });
  if (answer.response.status === 304) return { view: null, etag: answer.response.headers.get("ETag") ?? etag ?? null };
  return { view: bodyOf(answer), etag: answer.response.headers.get("ETag") };
}
