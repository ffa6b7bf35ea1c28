import { useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { describeError } from "../api";
import { isActive } from "../api/jobStatuses";
import { outputsQuery } from "../api/queries";
import type { JobDetails, Output } from "../api/types";
import { ErrorMessage, Loading } from "../components/States";
import { LiveFilePlot } from "./LiveFiles";
import { LogTail } from "./LogTail";
import { MAX_PREVIEW_BYTES, previewKind } from "./outputKinds";
import { SeriesPlots } from "./SeriesPlots";
import type { LiveRunState } from "./useLiveRun";

/**
 * A job's run as it goes: the series plotted as points arrive, the latest lines of its logs, and
 * plots of the CSV files it writes while it runs. Its progress is in the status panel. Once the job
 * has finished it shows what the run left (the end of the logs, the whole series, the final files).
 */
export default function LivePanel({ job, live }: { job: JobDetails; live: LiveRunState }) {
  const { run, log, showLog, following, paused, retrying, error } = live;
  // The results list reads these (same query): this panel, mounted a moment later, does not read them again.
  const outputs = useQuery({ ...outputsQuery(job.job_id, job.status, job.outputs.count), refetchOnMount: false }).data;
  const active = isActive(job.status);
  const files = useMemo(() => (run ? plottedFiles(job, run.files, run.fileNames, outputs) : []), [job, run, outputs]);
  const seriesWritten = (run?.streams.series?.size ?? 0) > 0 || !!run?.series.columns;

  return (
    <section className="panel live-panel" aria-labelledby="live-heading">
      <div className="panel-head">
        <h2 id="live-heading">{active ? "Live run" : "Run output"}</h2>
        <span className="live-state muted small">
          {paused && following ? (
            "Paused while this page is hidden"
          ) : active ? (
            <>
              <span className="live-dot" aria-hidden="true" /> Following as it runs
            </>
          ) : following ? (
            "Reading the rest…"
          ) : (
            "Complete"
          )}
        </span>
      </div>
      {retrying && (
        <p className="notice-line" role="status">
          {describeError(error)} Trying again…
        </p>
      )}
      {!run ? (
        error && !retrying ? (
          <ErrorMessage title="Could not follow the run" error={error} />
        ) : (
          <Loading what="Connecting to the run…" />
        )
      ) : (
        <div className="live-body">
          {seriesWritten && (
            <section aria-labelledby="series-heading">
              <h3 id="series-heading">Series</h3>
              <SeriesPlots series={run.series} />
            </section>
          )}
          <section aria-labelledby="log-heading">
            <h3 id="log-heading">Log</h3>
            <LogTail
              jobId={job.job_id}
              status={job.status}
              log={log}
              onShow={showLog}
              buffer={run.logs[log]}
              streams={run.streams}
              outputs={outputs}
            />
          </section>
          {files.length > 0 && (
            <section aria-labelledby="live-files-heading">
              <h3 id="live-files-heading">{job.status === "done" ? "Files written while it ran" : "Live files"}</h3>
              <div className="live-files">
                {files.map((file, i) => (
                  <LiveFilePlot key={file.name} jobId={job.job_id} file={file} headingId={`live-file-${i}`} />
                ))}
              </div>
            </section>
          )}
        </div>
      )}
    </section>
  );
}

/** The CSV files to plot: the live copies, or once the job is done the final files that replaced them. */
function plottedFiles(job: JobDetails, live: Output[], seen: string[], outputs: Output[] | undefined): Output[] {
  const plottable = (file: Output) => previewKind(file) === "csv" && file.size > 0 && file.size <= MAX_PREVIEW_BYTES;
  if (job.status !== "done") return live.filter(plottable);
  return (outputs ?? []).filter((output) => output.state !== "partial" && seen.includes(output.name)).filter(plottable);
}
