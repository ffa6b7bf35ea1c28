import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link, useLocation, useParams } from "react-router";
import { ApiError } from "../api/errors";
import { JOB_STATUSES } from "../api/jobStatuses";
import { useCancelSweep, useRetrySweep, useRunSweep } from "../api/mutations";
import { caseQuery, sweepMoves, sweepQuery } from "../api/queries";
import type { FieldSpec, SweepDetails, SweepState } from "../api/types";
import { Breadcrumb } from "../components/Breadcrumb";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { DateText } from "../components/DateText";
import { ProgressBar } from "../components/ProgressBar";
import { ErrorMessage, Loading, Notice } from "../components/States";
import { StatusChip } from "../components/StatusChip";
import { humanize } from "../lib/format";
import { STATUS_LABEL } from "../lib/status";
import { useDocumentVisible } from "../lib/useDocumentVisible";
import { usePageTitle } from "../lib/usePageTitle";
import { compareUrl } from "./compareRows";
import { SweepResults } from "./SweepResults";

const SWEEPS = [{ to: "/sweeps", label: "Sweeps" }];

export const SWEEP_STATE_LABEL: Record<SweepState, string> = {
  creating: "Being created",
  draft: "Drafts",
  active: "Running",
  finished: "Finished",
};

const STATE_CHIP: Record<SweepState, string> = {
  creating: "chip-submitted",
  draft: "chip-draft",
  active: "chip-running",
  finished: "chip-done",
};

export function SweepStateChip({ state }: { state: SweepState }) {
  return (
    <span className={`chip ${STATE_CHIP[state]}`}>
      {state === "active" && <span className="chip-pulse" aria-hidden="true" />}
      {SWEEP_STATE_LABEL[state]}
    </span>
  );
}

/**
 * One sweep: its counts by status and progress (read again every few seconds while it moves and
 * the page is visible), its members' results sortable by any column, and what can be done with it:
 * cancel what has not finished, run the failed members again, compare them all.
 */
export function SweepPage() {
  const { sweepId = "" } = useParams();
  // Another sweep is another page: its notice, sort and summary start afresh.
  return <SweepView key={sweepId} sweepId={sweepId} />;
}

function SweepView({ sweepId }: { sweepId: string }) {
  const visible = useDocumentVisible();
  const sweep = useQuery(sweepQuery(sweepId, { visible }));
  const data = sweep.data;
  const caseVersion = useQuery({ ...caseQuery(data?.case_id ?? "", data?.case_version), enabled: !!data });
  const arrival = (useLocation().state as { notice?: string } | null)?.notice;
  const [notice, setNotice] = useState<string | undefined>(arrival);
  usePageTitle(data?.title ?? "Sweep");

  if (sweep.isPending) return <Loading what="Loading the sweep…" />;
  if (!data) {
    return (
      <section className="page">
        <Breadcrumb trail={SWEEPS} current="Sweep" />
        <ErrorMessage
          title={sweep.error instanceof ApiError && sweep.error.status === 404 ? "Sweep not found" : "Could not load this sweep"}
          error={sweep.error}
          onRetry={() => void sweep.refetch()}
        />
        <p>
          <Link to="/sweeps">Back to your sweeps</Link>
        </p>
      </section>
    );
  }

  const fields = caseVersion.data?.fields ?? [];
  return (
    <section className="page">
      <Breadcrumb trail={SWEEPS} current={data.title} />
      <header className="page-header">
        <div>
          <div className="title-line">
            <h1>{data.title}</h1>
            <SweepStateChip state={data.state} />
          </div>
          <p className="lead">
            <Link to={`/cases/${encodeURIComponent(data.case_id)}?version=${data.case_version}`}>
              {caseVersion.data?.title ?? data.case_id}
            </Link>{" "}
            <span className="muted">v{data.case_version}</span> · {describePlan(data, fields)} · created{" "}
            <DateText value={data.created} />
          </p>
        </div>
        <div className="page-actions">
          <SweepActions sweep={data} onDone={setNotice} />
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
      {sweep.error != null && (
        <ErrorMessage title="Could not refresh the sweep" error={sweep.error} onRetry={() => void sweep.refetch()} />
      )}

      <SweepStatus sweep={data} visible={visible} />
      <SweepResults sweep={data} fields={fields} />
    </section>
  );
}

/** "grid of Blade speed × Blending time, 4 runs" */
function describePlan(sweep: SweepDetails, fields: FieldSpec[]): string {
  const label = (name: string) => fields.find((f) => f.name === name)?.label ?? humanize(name);
  const runs = `${sweep.total} ${sweep.total === 1 ? "run" : "runs"}`;
  const varied = sweep.varied.map(label).join(" × ");
  if (!varied) return runs;
  const how = sweep.mode === "table" ? "a table of" : sweep.mode === "zip" ? "zipped" : "grid of";
  return `${how} ${varied}, ${runs}`;
}

/** Counts by status and progress, live while the sweep moves. */
function SweepStatus({ sweep, visible }: { sweep: SweepDetails; visible: boolean }) {
  const moves = sweepMoves(sweep);
  const counted = JOB_STATUSES.filter((status) => (sweep.counts[status] ?? 0) > 0);
  return (
    <section className="panel sweep-status" aria-labelledby="sweep-status-heading">
      <div className="panel-head">
        <h2 id="sweep-status-heading">Status</h2>
        {moves && (
          <span className="live-state muted small">
            {visible ? (
              <>
                <span className="live-dot" aria-hidden="true" /> Updating every few seconds
              </>
            ) : (
              "Paused while this page is hidden"
            )}
          </span>
        )}
      </div>
      <ul className="sweep-counts" aria-label="Runs by status" aria-live="polite">
        {counted.map((status) => (
          <li key={status} className="sweep-count" data-status={status} data-count={sweep.counts[status]}>
            <StatusChip status={status} />
            <span className="sweep-count-number">{sweep.counts[status]}</span>
            <span className="visually-hidden"> {STATUS_LABEL[status].toLowerCase()}</span>
          </li>
        ))}
        <li className="sweep-count sweep-count-total">
          · <strong>{sweep.total}</strong> {sweep.total === 1 ? "run" : "runs"} in all
        </li>
      </ul>
      <ProgressBar label="Progress of all runs" fraction={sweep.progress} />
      {sweep.state === "draft" && (
        <p className="notice-line">
          The runs were kept as drafts: open one to change its values, or run them all with Run drafts.
        </p>
      )}
      {sweep.state === "creating" && <p className="notice-line">The runs are still being written.</p>}
    </section>
  );
}

type Confirm = "cancel" | null;

/** Run the drafts, Cancel sweep (confirmed), Retry failed, Compare all and the runs in the jobs list. */
function SweepActions({ sweep, onDone }: { sweep: SweepDetails; onDone: (notice: string) => void }) {
  const cancel = useCancelSweep();
  const retry = useRetrySweep();
  const run = useRunSweep();
  const drafts = sweep.counts.draft ?? 0;
  const [confirm, setConfirm] = useState<Confirm>(null);
  const failed = sweep.counts.failed ?? 0;
  const unfinished = useMemo(
    () => sweep.members.filter((m) => !["done", "failed", "cancelled"].includes(m.status)).length,
    [sweep.members],
  );
  const error = cancel.error ?? retry.error ?? run.error;

  const doCancel = () =>
    cancel.mutate(sweep.sweep_id, {
      onSuccess: (answer) => {
        setConfirm(null);
        onDone(
          `Cancelling ${answer.cancelled} ${answer.cancelled === 1 ? "run" : "runs"}` +
            (answer.finished ? `; ${answer.finished} had already finished.` : "."),
        );
      },
      onError: () => setConfirm(null),
    });
  const doRun = () =>
    run.mutate(sweep.sweep_id, {
      onSuccess: (answer) =>
        onDone(`${answer.started} ${answer.started === 1 ? "run was" : "runs were"} asked to run; the sites' limits decide when each starts.`),
    });
  const doRetry = () =>
    retry.mutate(sweep.sweep_id, {
      onSuccess: (answer) =>
        onDone(`${answer.job_ids.length} failed ${answer.job_ids.length === 1 ? "run was" : "runs were"} started again.`),
    });

  return (
    <div className="job-actions">
      <div className="button-row">
        {sweep.members.length >= 2 ? (
          <Link className="button button-primary" to={compareUrl({ sweepId: sweep.sweep_id })}>
            Compare all
          </Link>
        ) : (
          <span className="button button-primary" aria-disabled="true" title="A comparison needs two runs or more">
            Compare all
          </span>
        )}
        <Link className="button button-secondary" to={`/jobs?sweep_id=${encodeURIComponent(sweep.sweep_id)}`}>
          In the jobs list
        </Link>
        {drafts > 0 && sweep.state !== "creating" && (
          <button type="button" className="button button-secondary" disabled={run.isPending} onClick={doRun}>
            {run.isPending ? "Starting…" : `Run drafts (${drafts})`}
          </button>
        )}
        {failed > 0 && (
          <button type="button" className="button button-secondary" disabled={retry.isPending} onClick={doRetry}>
            {retry.isPending ? "Retrying…" : `Retry failed (${failed})`}
          </button>
        )}
        {unfinished > 0 && (
          <button type="button" className="button button-danger-ghost" disabled={cancel.isPending} onClick={() => setConfirm("cancel")}>
            Cancel sweep
          </button>
        )}
      </div>
      <ErrorMessage
        error={error}
        title={cancel.error ? "Could not cancel the sweep" : run.error ? "Could not run the drafts" : "Could not retry the failed runs"}
      />
      <ConfirmDialog
        open={confirm === "cancel"}
        title="Cancel this sweep?"
        confirmLabel="Cancel sweep"
        cancelLabel="Let it run"
        danger
        busy={cancel.isPending}
        onConfirm={doCancel}
        onCancel={() => setConfirm(null)}
      >
        <p>
          {unfinished === 1 ? "The run" : `The ${unfinished} runs`} not finished yet will be cancelled; results they have not
          uploaded are lost. Finished runs keep their results.
        </p>
      </ConfirmDialog>
    </div>
  );
}
