import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from "react";
import { useOutputDownload } from "./useOutputDownload";
import { isActive } from "../api/jobStatuses";
import type { JobStatus, LogStream, Output, StreamInfo } from "../api/types";
import { ErrorMessage } from "../components/States";
import { formatBytes } from "../lib/format";
import { LOG_CAP_BYTES, type LogBuffer } from "./logBuffer";
import { LOG_STREAMS } from "./liveRun";

/** How close to the end (px) still counts as at the end: new lines keep it there. */
const AT_END_PX = 24;

/**
 * The latest lines of the job's logs, one tab each: it stays at the end as lines arrive unless the
 * user scrolled up (then "Jump to latest" brings it back). The page holds at most 256 KiB of each;
 * the whole log is an output once the job is done.
 */
export function LogTail({
  jobId,
  status,
  log,
  onShow,
  buffer,
  streams,
  outputs,
}: {
  jobId: string;
  status: JobStatus;
  log: LogStream;
  onShow: (log: LogStream) => void;
  buffer: LogBuffer;
  streams: Partial<Record<string, StreamInfo>>;
  outputs: Output[] | undefined;
}) {
  const tabs = useRef<Partial<Record<LogStream, HTMLButtonElement | null>>>({});
  const view = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  const [atEnd, setAtEnd] = useState(true);

  useLayoutEffect(() => {
    stick.current = true;
    setAtEnd(true);
  }, [log]);
  useLayoutEffect(() => {
    const element = view.current;
    if (element && stick.current) element.scrollTop = element.scrollHeight;
  }, [buffer.text, log]);

  // A narrower log wraps into more rows: one at its end stays there.
  useEffect(() => {
    const element = view.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (stick.current) element.scrollTop = element.scrollHeight;
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const onScroll = () => {
    const element = view.current;
    if (!element) return;
    const end = element.scrollHeight - element.scrollTop - element.clientHeight <= AT_END_PX;
    stick.current = end;
    setAtEnd(end);
  };
  const jumpToLatest = () => {
    const element = view.current;
    if (!element) return;
    stick.current = true;
    setAtEnd(true);
    element.scrollTop = element.scrollHeight;
  };
  const onTabKey = (event: KeyboardEvent<HTMLButtonElement>) => {
    const at = LOG_STREAMS.indexOf(log);
    const to =
      event.key === "ArrowRight" ? (at + 1) % LOG_STREAMS.length
      : event.key === "ArrowLeft" ? (at - 1 + LOG_STREAMS.length) % LOG_STREAMS.length
      : event.key === "Home" ? 0
      : event.key === "End" ? LOG_STREAMS.length - 1
      : -1;
    if (to < 0) return;
    event.preventDefault();
    onShow(LOG_STREAMS[to]);
    tabs.current[LOG_STREAMS[to]]?.focus();
  };

  const size = streams[log]?.size ?? 0;
  const started = buffer.next !== null;
  return (
    <div className="log-tail">
      <div className="log-tabs" role="tablist" aria-label="Logs">
        {LOG_STREAMS.map((stream) => {
          const selected = stream === log;
          const bytes = streams[stream]?.size ?? 0;
          return (
            <button
              key={stream}
              ref={(element) => {
                tabs.current[stream] = element;
              }}
              type="button"
              role="tab"
              id={`log-tab-${stream}`}
              aria-selected={selected}
              aria-controls="log-panel"
              tabIndex={selected ? 0 : -1}
              className="log-tab"
              onClick={() => onShow(stream)}
              onKeyDown={onTabKey}
            >
              <code>{stream}</code>
              <span className="log-tab-size">{bytes > 0 ? formatBytes(bytes) : "empty"}</span>
            </button>
          );
        })}
      </div>
      <div className="log-panel" role="tabpanel" id="log-panel" aria-labelledby={`log-tab-${log}`}>
        {buffer.dropped && (
          <p className="log-note muted small">
            Earlier lines are not kept in this page: it holds the latest {formatBytes(LOG_CAP_BYTES)} of each log.
          </p>
        )}
        <div className="log-frame">
          <pre
            ref={view}
            className="code log-text"
            role="log"
            aria-live="off"
            tabIndex={0}
            aria-label={`${log}: latest lines`}
            onScroll={onScroll}
            data-bytes={buffer.bytes}
          >
            {buffer.text ||
              (!started || (!buffer.complete && size > 0)
                ? `Reading ${log}…`
                : isActive(status)
                  ? `Nothing written to ${log} yet.`
                  : `Nothing was written to ${log}.`)}
          </pre>
          {!atEnd && (
            <button type="button" className="button button-secondary button-small log-jump" onClick={jumpToLatest}>
              Jump to latest ↓
            </button>
          )}
        </div>
        <LogFooter jobId={jobId} status={status} log={log} buffer={buffer} outputs={outputs} />
      </div>
    </div>
  );
}

/** Whether the log is complete here, and where the whole of it is (an output once the job is done). */
function LogFooter({
  jobId,
  status,
  log,
  buffer,
  outputs,
}: {
  jobId: string;
  status: JobStatus;
  log: LogStream;
  buffer: LogBuffer;
  outputs: Output[] | undefined;
}) {
  const { downloading, error, download } = useOutputDownload(jobId);
  const preparing = downloading !== null;
  const name = `logs/${log}.log`;
  const sealed = outputs?.find((output) => output.name === name && output.state !== "partial");

  return (
    <div className="log-foot">
      {buffer.complete && (
        <p className="log-end small">
          <span className="log-end-mark" aria-hidden="true">■</span> End of the log: the job has finished.
        </p>
      )}
      {sealed ? (
        <p className="small">
          <button type="button" className="link-button" disabled={preparing} onClick={() => download(sealed)}>
            {preparing ? "Preparing the download…" : `Download the whole ${log} log`}
          </button>{" "}
          <span className="muted">
            (<code>{name}</code>, {formatBytes(sealed.size)})
          </span>
        </p>
      ) : isActive(status) ? (
        <p className="muted small">
          The whole log becomes an output (<code>{name}</code>) when the job is done.
        </p>
      ) : (
        buffer.dropped && <p className="muted small">The whole log was not kept as an output of this job.</p>
      )}
      <ErrorMessage title="Could not download the log" error={error} />
    </div>
  );
}
