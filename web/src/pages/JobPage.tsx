import { useCallback, useEffect, useState } from "react";
import { Link, useLocation, useParams, useSearchParams } from "react-router";
import { getCase, getJob } from "../api";
import { ApiError } from "../api/errors";
import type { JobStatusInfo } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { DateText } from "../components/DateText";
import { ErrorMessage, Loading, Notice } from "../components/States";
import { StatusChip } from "../components/StatusChip";
import { JobActions } from "../job/JobActions";
import { JobDraftEditor } from "../job/JobDraftEditor";
import { JobOutputs } from "../job/JobOutputs";
import { JobStatusPanel } from "../job/JobStatusPanel";
import { JobTimeline } from "../job/JobTimeline";
import { JobValues } from "../job/JobValues";
import { isActive } from "../lib/status";
import { useJobStatusWatch } from "../lib/useJobStatusWatch";
import { useLoad } from "../lib/useLoad";
import { usePageTitle } from "../lib/usePageTitle";
import type { JobPageState } from "./NewJobPage";

/** One job: status (live while active), values, history, actions and results. */
export function JobPage() {
  const { jobId = "" } = useParams();
  const location = useLocation();
  const [params, setParams] = useSearchParams();
  const { user } = useAuth();
  const arrival = (location.state ?? {}) as JobPageState;
  const [notice, setNotice] = useState<string | undefined>(arrival.notice);
  const [runError, setRunError] = useState(() => restoreError(arrival.runError));
  useEffect(() => {
    setNotice(arrival.notice);
    setRunError(restoreError(arrival.runError));
    // a new arrival (another job after Relaunch, or the same one again)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [location.key]);

  const loaded = useLoad((signal) => getJob(jobId, signal), [jobId]);
  const job = loaded.data?.job;
  usePageTitle(job?.title ?? "Job");

  const caseVersion = useLoad(
    (signal) => (job ? getCase(job.case_id, job.case_version, signal) : Promise.resolve(undefined)),
    [job?.case_id, job?.case_version],
  );

  // Live status: long-poll while active; a new status reloads the whole job (history, outputs...).
  const { reload, setData } = loaded;
  const onStatus = useCallback(
    (info: JobStatusInfo) => {
      if (!loaded.data) return;
      const current = loaded.data.job;
      if (info.status !== current.status) {
        setNotice(undefined); // "Job started." is old news now
        reload();
      }
      else if (info.progress !== current.progress || info.detail !== current.detail)
        setData({ ...loaded.data, job: { ...current, progress: info.progress, detail: info.detail } });
    },
    [loaded.data, reload, setData],
  );
  useJobStatusWatch(jobId, job?.status, onStatus);

  const selected = params.get("output");
  const select = (outputId: string | null) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (outputId) next.set("output", outputId);
        else next.delete("output");
        return next;
      },
      { replace: true, preventScrollReset: true },
    );

  if (loaded.loading && !job) return <Loading what="Loading the job…" />;
  if (!job) {
    return (
      <section className="page">
        <Breadcrumb title="Job" />
        <ErrorMessage
          title={loaded.error instanceof ApiError && loaded.error.status === 404 ? "Job not found" : "Could not load this job"}
          error={loaded.error}
          onRetry={loaded.reload}
        />
        <p>
          <Link to="/jobs">Back to your jobs</Link>
        </p>
      </section>
    );
  }

  const fields = caseVersion.data?.fields;
  const watching = isActive(job.status);

  return (
    <section className="page">
      <Breadcrumb title={job.title} />
      <header className="page-header">
        <div>
          <div className="title-line">
            <h1>{job.title}</h1>
            <StatusChip status={job.status} />
          </div>
          <p className="lead">
            <Link to={`/cases/${encodeURIComponent(job.case_id)}?version=${job.case_version}`}>
              {caseVersion.data?.title ?? job.case_id}
            </Link>{" "}
            <span className="muted">v{job.case_version}</span>
            {user && job.owner !== user.userId && <> · owned by {job.owner}</>} · created <DateText value={job.created} />
          </p>
        </div>
        <div className="page-actions">
          <JobActions job={job} onChanged={loaded.reload} />
        </div>
      </header>

      {notice && (
        <div className="notice-wrap">
          <Notice tone="success">
            {notice}{" "}
            <button type="button" className="link-button" onClick={() => setNotice(undefined)}>
              Dismiss
            </button>
          </Notice>
        </div>
      )}
      {loaded.error != null && <ErrorMessage title="Could not refresh the job" error={loaded.error} onRetry={loaded.reload} />}

      <div className="two-columns">
        <div className="stack">
          <JobStatusPanel job={job} watching={watching} />
          {job.status === "draft" ? (
            fields ? (
              <JobDraftEditor
                key={loaded.data?.etag ?? job.updated}
                job={job}
                etag={loaded.data?.etag ?? null}
                fields={fields}
                initialError={runError}
                onSaved={(message) => {
                  setNotice(message);
                  setRunError(null);
                  loaded.reload();
                }}
              />
            ) : caseVersion.error ? (
              <ErrorMessage title="Could not load the case's fields" error={caseVersion.error} onRetry={caseVersion.reload} />
            ) : (
              <Loading what="Loading the case's fields…" />
            )
          ) : (
            <section className="panel" aria-labelledby="values-heading">
              <h2 id="values-heading">Values</h2>
              <JobValues values={job.fields} fields={fields} />
            </section>
          )}
        </div>
        <aside className="stack">
          <section className="panel" aria-labelledby="history-heading">
            <h2 id="history-heading">History</h2>
            <JobTimeline history={job.history} />
          </section>
        </aside>
      </div>

      {job.status !== "draft" && <JobOutputs job={job} selected={selected} onSelect={select} />}
    </section>
  );
}

/** The error of a run that failed right after its draft was created (passed in the navigation state). */
function restoreError(saved: JobPageState["runError"]): ApiError | null {
  if (!saved) return null;
  return new ApiError(saved.problem ? "problem" : "unexpected", saved.status, saved.message, saved.problem);
}

function Breadcrumb({ title }: { title: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to="/jobs">Jobs</Link>
      <span aria-hidden="true"> / </span>
      <span aria-current="page">{title}</span>
    </nav>
  );
}
