/**
 * What a page following a job holds of its live run, built up from the API's live looks (GET
 * /api/job/{id}/live): the latest status, progress and live files, each log's latest lines and the
 * series' points, and where to read each of them on. Pure: the query (liveQuery) keeps it.
 */
import { isActive } from "../api/jobStatuses";
import type { LiveAsk } from "../api/live";
import type { JobStatus, LiveView, LogStream, Output, StreamInfo } from "../api/types";
import { appendLog, emptyLog, logBehind, logReadOffset, type LogBuffer } from "./logBuffer";
import { appendSeries, emptySeries, seriesBehind, seriesReadOffset, type SeriesState } from "./series";

export const LOG_STREAMS: readonly LogStream[] = ["stdout", "stderr"];

export interface LiveRun {
  status: JobStatus;
  detail: string;
  progress: number | null;
  updatedAt: string;
  /** stdout, stderr, series → how much there is. */
  streams: Partial<Record<string, StreamInfo>>;
  /** Live outputs as last taken (state "partial"). */
  files: Output[];
  /** Every live file's name seen while following: their final copies are shown once the job is done. */
  fileNames: string[];
  logs: Record<LogStream, LogBuffer>;
  series: SeriesState;
  /** The ETag of the last answer, and what it answered: asking the same again may be answered 304. */
  etag: string | null;
  asked: LiveAsk | null;
  /** The status the job's details were last refreshed for. */
  refreshedFor: JobStatus | null;
}

/** What to ask next to follow `log` and the series. */
export function nextAsk(run: LiveRun | undefined, log: LogStream): LiveAsk {
  return {
    log,
    logOffset: logReadOffset(run?.logs[log] ?? emptyLog, run?.streams[log]),
    seriesOffset: seriesReadOffset(run?.series ?? emptySeries, run?.streams.series),
  };
}

/** The ETag to send with `ask`: the last answer's, when it answered the same question. */
export function etagFor(run: LiveRun | undefined, ask: LiveAsk): string | null {
  const asked = run?.asked;
  if (!run?.etag || !asked) return null;
  const same = asked.log === ask.log && asked.logOffset === ask.logOffset && asked.seriesOffset === ask.seriesOffset;
  return same ? run.etag : null;
}

/** The run with a new look added. */
export function applyView(run: LiveRun | undefined, view: LiveView, etag: string | null, ask: LiveAsk): LiveRun {
  const logs = run?.logs ?? { stdout: emptyLog, stderr: emptyLog };
  const stream = LOG_STREAMS.find((name) => name === view.log.stream);
  const names = run?.fileNames ?? [];
  const fresh = view.files.map((file) => file.name).filter((name) => !names.includes(name));
  return {
    status: view.status,
    detail: view.detail,
    progress: view.progress,
    updatedAt: view.updated_at,
    streams: view.streams,
    files: view.files,
    fileNames: fresh.length ? [...names, ...fresh] : names,
    logs: stream ? { ...logs, [stream]: appendLog(logs[stream], view.log) } : logs,
    series: appendSeries(run?.series ?? emptySeries, view.series),
    etag,
    asked: ask,
    refreshedFor: run?.refreshedFor ?? null,
  };
}

/** Whether more is to come for `log`: the job still runs, or the log or the series was not read to its end. */
export function isFollowing(run: LiveRun | undefined, log: LogStream): boolean {
  if (!run) return true;
  return isActive(run.status) || !run.logs[log].complete || !run.series.complete;
}

/** Whether `log` or the series has bytes past what the page read (worth asking again soon). */
export function isBehind(run: LiveRun | undefined, log: LogStream): boolean {
  if (!run) return false;
  return logBehind(run.logs[log], run.streams[log]) || seriesBehind(run.series, run.streams.series);
}

/** Whether the run has anything to show: bytes in a stream, or a live file. */
export function hasOutput(run: LiveRun | undefined): boolean {
  if (!run) return false;
  return run.files.length > 0 || run.fileNames.length > 0 || Object.values(run.streams).some((s) => (s?.size ?? 0) > 0);
}
