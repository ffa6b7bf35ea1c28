import { useState } from "react";
import { useNavigate } from "react-router";
import { isActive, isFinished } from "../api/jobStatuses";
import { useCancelJob, useDeleteJob, useRelaunchJob } from "../api/mutations";
import type { JobDetails } from "../api/types";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorMessage } from "../components/States";

type Action = "cancel" | "delete" | "relaunch";

/** Cancel, Relaunch and Delete, each offered when the job's status allows it. */
export function JobActions({ job }: { job: JobDetails }) {
  const navigate = useNavigate();
  const cancel = useCancelJob();
  const remove = useDeleteJob();
  const relaunch = useRelaunchJob();
  const [busy, setBusy] = useState<Action | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [failed, setFailed] = useState<Action | null>(null);
  const [confirm, setConfirm] = useState<"delete" | "cancel" | null>(null);
  const active = isActive(job.status);
  const finished = isFinished(job.status);

  const act = async (what: Action) => {
    setBusy(what);
    setError(null);
    setFailed(null);
    try {
      if (what === "cancel") {
        await cancel.mutateAsync(job.job_id);
        setConfirm(null);
      } else if (what === "delete") {
        await remove.mutateAsync(job.job_id);
        navigate("/jobs", { replace: true, state: { notice: `Deleted “${job.title}”.` } });
      } else {
        const { job_id } = await relaunch.mutateAsync(job.job_id);
        navigate(`/jobs/${encodeURIComponent(job_id)}`, {
          state: { notice: "A new draft with the same values. Change them or run it." },
        });
      }
    } catch (err) {
      setError(err);
      setFailed(what);
      setConfirm(null);
    } finally {
      setBusy(null);
    }
  };

  const cancelPending = active && !!job.cancel_requested;
  return (
    <div className="job-actions">
      <div className="button-row">
        {(active || job.status === "draft") && (
          <button
            type="button"
            className="button button-secondary"
            disabled={busy !== null || cancelPending}
            onClick={() => setConfirm("cancel")}
          >
            {cancelPending ? "Cancel requested" : busy === "cancel" ? "Cancelling…" : "Cancel job"}
          </button>
        )}
        {job.status !== "draft" && (
          <button
            type="button"
            className="button button-secondary"
            disabled={busy !== null}
            onClick={() => act("relaunch")}
            title="A new draft with the same case version and values"
          >
            {busy === "relaunch" ? "Relaunching…" : "Relaunch"}
          </button>
        )}
        {(finished || job.status === "draft") && (
          <button
            type="button"
            className="button button-danger-ghost"
            disabled={busy !== null}
            onClick={() => setConfirm("delete")}
          >
            Delete
          </button>
        )}
      </div>
      <ErrorMessage
        error={error}
        title={failed === "cancel" ? "Could not cancel the job" : failed === "delete" ? "Could not delete the job" : "Could not relaunch the job"}
      />
      <ConfirmDialog
        open={confirm === "delete"}
        title="Delete this job?"
        confirmLabel="Delete job"
        cancelLabel="Keep it"
        danger
        busy={busy === "delete"}
        onConfirm={() => act("delete")}
        onCancel={() => setConfirm(null)}
      >
        <p>
          “{job.title}” and {job.outputs.count ? `its ${job.outputs.count} result files` : "its values"} will be deleted
          for good.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "cancel"}
        title="Cancel this job?"
        confirmLabel="Cancel job"
        cancelLabel="Let it run"
        danger
        busy={busy === "cancel"}
        onConfirm={() => act("cancel")}
        onCancel={() => setConfirm(null)}
      >
        <p>
          {job.status === "draft"
            ? "The draft will be marked cancelled and can no longer be run."
            : "The simulator will stop the job. Results it has not uploaded yet are lost."}
        </p>
      </ConfirmDialog>
    </div>
  );
}
