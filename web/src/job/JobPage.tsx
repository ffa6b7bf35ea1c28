import { lazy, Suspense } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link, useParams, useSearchParams } from "react-router";
import { ApiError } from "../api/errors";
import { isActive } from "../api/jobStatuses";
import { caseQuery } from "../api/queries";
import { Breadcrumb } from "../components/Breadcrumb";
import { ErrorMessage, Loading, Notice } from "../components/States";
import { usePageTitle } from "../lib/usePageTitle";
import { NotifyMeButton } from "../notifications/NotifyMeButton";
import { DraftTabs, JobPreview } from "../studies/JobPreview";
import { JobDraftEditor } from "./JobDraftEditor";
import { JobHeader } from "./JobHeader";
import { JobOutputs } from "./JobOutputs";
import { JobStatusPanel } from "./JobStatusPanel";
import { JobTimeline } from "./JobTimeline";
import { JobValues } from "./JobValues";
import { useJobArrival } from "./jobArrival";
import { hasOutput } from "./liveRun";
import { useLiveJob } from "./useLiveJob";

// The live panel brings the chart library: loaded when a job that runs (or ran) is shown.
const LivePanel = lazy(() => import("./LivePanel"));

const JOBS = [{ to: "/jobs", label: "Jobs" }];

/** One job: status (live while active), values, history, its run as it goes, actions and results. */
export function JobPage() {
  const { jobId = "" } = useParams();
  const { notice, setNotice, runError, setRunError } = useJobArrival();
  // "Job started." is old news once the system has moved the job on.
  const { loaded, watching, live } = useLiveJob(jobId, () => setNotice(undefined));
  const job = loaded.data?.job;
  usePageTitle(job?.title ?? "Job");
  const caseVersion = useQuery({ ...caseQuery(job?.case_id ?? "", job?.case_version), enabled: !!job });
  const [selected, select] = useSelectedOutput();

  if (loaded.isPending) return <Loading what="Loading the job…" />;
  if (!job) {
    return (
      <section className="page">
        <Breadcrumb trail={JOBS} current="Job" />
        <ErrorMessage
          title={loaded.error instanceof ApiError && loaded.error.status === 404 ? "Job not found" : "Could not load this job"}
          error={loaded.error}
          onRetry={() => void loaded.refetch()}
        />
        <p>
          <Link to="/jobs">Back to your jobs</Link>
        </p>
      </section>
    );
  }

  const fields = caseVersion.data?.fields;
  const etag = loaded.data?.etag ?? null;
  return (
    <section className="page">
      <Breadcrumb trail={JOBS} current={job.title} />
      <JobHeader job={job} caseTitle={caseVersion.data?.title} />

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
      {loaded.error != null && (
        <ErrorMessage title="Could not refresh the job" error={loaded.error} onRetry={() => void loaded.refetch()} />
      )}

      <div className="two-columns">
        <div className="stack">
          <JobStatusPanel job={job} watching={watching} />
          <NotifyMeButton job={job} />
          {job.status === "draft" ? (
            fields ? (
              <DraftTabs
                values={
                  <JobDraftEditor
                    key={etag ?? job.updated}
                    job={job}
                    etag={etag}
                    fields={fields}
                    licences={caseVersion.data?.licences}
                    initialError={runError}
                    onSaved={(message) => {
                      setNotice(message);
                      setRunError(null);
                    }}
                    onRunFailed={setRunError}
                  />
                }
                preview={<JobPreview job={job} />}
              />
            ) : caseVersion.error ? (
              <ErrorMessage
                title="Could not load the case's fields"
                error={caseVersion.error}
                onRetry={() => void caseVersion.refetch()}
              />
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

      {job.status !== "draft" && !live.unavailable && (isActive(job.status) || hasOutput(live.run)) && (
        <Suspense fallback={<Loading what="Opening the live run…" />}>
          <LivePanel job={job} live={live} />
        </Suspense>
      )}

      {job.status !== "draft" && (
        <JobOutputs job={job} selected={selected} onSelect={select} liveFiles={live.run?.files} />
      )}
    </section>
  );
}

/** The output being previewed, kept in the URL as `?output=`. */
function useSelectedOutput(): [string | null, (outputId: string | null) => void] {
  const [params, setParams] = useSearchParams();
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
  return [params.get("output"), select];
}
