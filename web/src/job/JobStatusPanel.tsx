import { isActive } from "../api/jobStatuses";
import type { JobDetails } from "../api/types";
import { DateText } from "../components/DateText";
import { ProgressBar } from "../components/ProgressBar";
import { StatusChip } from "../components/StatusChip";
import { STATUS_MEANING } from "../lib/status";
import { formatBytes, localizeTimes } from "../lib/format";
import { WaitingPlacement } from "./JobPlacement";

/**
 * Where the job stands: status, progress, simulator and why it went there, scheduler job id, error,
 * cancel request. A submitted job shows what it waits for and its place in line.
 */
export function JobStatusPanel({ job, watching }: { job: JobDetails; watching: boolean }) {
  const active = isActive(job.status);
  const waiting = job.status === "submitted";
  return (
    <section className="panel status-panel" aria-labelledby="status-heading">
      <div className="panel-head">
        <h2 id="status-heading">Status</h2>
        {watching && (
          <span className="live" role="status">
            <span className="live-dot" aria-hidden="true" /> Live
          </span>
        )}
      </div>
      <div className="status-line" aria-live="polite">
        <StatusChip status={job.status} />
        <span className={waiting ? "status-detail-waiting" : undefined}>
          {localizeTimes(job.detail) || STATUS_MEANING[job.status]}
        </span>
      </div>
      {waiting && <WaitingPlacement job={job} />}
      {(active || (job.progress !== null && job.status !== "done")) && (
        <ProgressBar label="Progress" fraction={job.progress} />
      )}
      {job.error && (
        <div className="alert alert-error job-error" role="alert">
          <div>
            <p className="alert-title">{job.status === "failed" ? "The job failed" : "Error"}</p>
            <p>{localizeTimes(job.error)}</p>
          </div>
        </div>
      )}
      {job.cancel_requested && active && (
        <p className="notice-line">
          Cancel requested by {job.cancel_requested.by} on <DateText value={job.cancel_requested.at} />; the
          simulator is stopping it.
        </p>
      )}
      <dl className="facts">
        <dt>Simulator</dt>
        <dd>{job.simulator ?? <span className="muted">not assigned yet</span>}</dd>
        {job.placement && !waiting && (
          <>
            <dt>Placed</dt>
            <dd>{localizeTimes(job.placement)}</dd>
          </>
        )}
        <dt>Scheduler job id</dt>
        <dd>{job.scheduler_job_id ? <code>{job.scheduler_job_id}</code> : <span className="muted">—</span>}</dd>
        <dt>UWS phase</dt>
        <dd>
          <code>{job.uws_status}</code>
        </dd>
        <dt>Created</dt>
        <dd>
          <DateText value={job.created} />
        </dd>
        <dt>Last change</dt>
        <dd>
          <DateText value={job.updated} />
        </dd>
        <dt>Results</dt>
        <dd>
          {job.outputs.count
            ? `${job.outputs.count} ${job.outputs.count === 1 ? "file" : "files"}, ${formatBytes(job.outputs.bytes)}`
            : <span className="muted">{active || job.status === "draft" ? "none yet" : "none"}</span>}
        </dd>
      </dl>
    </section>
  );
}
