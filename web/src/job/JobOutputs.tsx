import { lazy, Suspense, useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { isActive } from "../api/jobStatuses";
import { outputsQuery } from "../api/queries";
import type { JobDetails, Output } from "../api/types";
import { Empty, ErrorMessage, Loading } from "../components/States";
import { OutputList } from "./OutputList";

// The preview brings the chart and CSV libraries: loaded on first use, not with the app.
const OutputPreview = lazy(() => import("./OutputPreview").then((m) => ({ default: m.OutputPreview })));

/**
 * The job's results: the list, and the preview of the one chosen (kept in the URL as ?output=).
 * While the page follows the job's live run, its live files as last taken (`liveFiles`) stand for
 * the partial ones the list had: the list is read again only when the job's status or results change.
 */
export function JobOutputs({
  job,
  selected,
  onSelect,
  liveFiles,
}: {
  job: JobDetails;
  selected: string | null;
  onSelect: (outputId: string | null) => void;
  liveFiles?: Output[];
}) {
  const listed = useQuery(outputsQuery(job.job_id, job.status, job.outputs.count));
  const { error, isPending, refetch } = listed;
  const data = useMemo(() => withLiveFiles(listed.data, job, liveFiles), [listed.data, job, liveFiles]);
  const chosen = data?.find((o) => o.output_id === selected) ?? null;

  let body;
  if (isPending) body = <Loading what="Listing the results…" />;
  else if (error) body = <ErrorMessage title="Could not list the results" error={error} onRetry={() => void refetch()} />;
  else if (!data?.length)
    body = (
      <Empty
        title={
          job.status === "draft"
            ? "No results: the job has not run"
            : isActive(job.status)
              ? "Results appear here when the job has finished"
              : "This job left no results"
        }
      />
    );
  else body = <OutputList jobId={job.job_id} outputs={data} selected={selected} onPreview={onSelect} />;

  return (
    <>
      <section className="panel" aria-labelledby="outputs-heading">
        <div className="panel-head">
          <h2 id="outputs-heading">Results</h2>
          {data && data.length > 0 && (
            <span className="muted small">Files are read straight from storage; links last 15 minutes.</span>
          )}
        </div>
        {body}
      </section>
      {chosen && (
        <Suspense fallback={<Loading what="Opening the preview…" />}>
          <OutputPreview jobId={job.job_id} output={chosen} onClose={() => onSelect(null)} />
        </Suspense>
      )}
    </>
  );
}

/** The sealed outputs, then the live files: as the last live look has them, else as listed. */
function withLiveFiles(listed: Output[] | undefined, job: JobDetails, liveFiles: Output[] | undefined): Output[] | undefined {
  if (!listed || !liveFiles || job.status === "done") return listed;
  const sealed = listed.filter((output) => output.state !== "partial");
  const names = new Set(sealed.map((output) => output.name));
  return [...sealed, ...liveFiles.filter((file) => !names.has(file.name))];
}
