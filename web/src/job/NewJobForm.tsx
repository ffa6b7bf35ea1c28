import { useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError } from "../api/errors";
import { useCreateJob } from "../api/mutations";
import type { CaseDetails } from "../api/types";
import { valuesFrom } from "./fieldValues";
import { FormErrors } from "./FormErrors";
import { JobFieldsForm } from "./JobFieldsForm";
import { runErrorState, type JobPageState } from "./jobArrival";
import { SaveOrRunButtons, useSaveOrRun } from "./SaveOrRun";
import { useFieldDrafts } from "./useFieldDrafts";

function newKey(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

/** The new job's title and values; the job page takes over once the draft exists. */
export function NewJobForm({ details }: { details: CaseDetails }) {
  const navigate = useNavigate();
  const [title, setTitle] = useState("");
  const form = useFieldDrafts(details.fields, undefined);
  const create = useCreateJob();
  // One key per attempt: a double click or a retry after a lost answer returns the same job.
  const idempotencyKey = useRef(newKey());
  const toJob = (jobId: string, state: JobPageState) => navigate(`/jobs/${encodeURIComponent(jobId)}`, { state });

  const { busy, submit } = useSaveOrRun({
    save: async () => {
      form.setError(null);
      const job = { case_id: details.id, job_title: title.trim(), fields: valuesFrom(details.fields, form.values) };
      const created = await create.mutateAsync({ job, idempotencyKey: idempotencyKey.current });
      return { jobId: created.job_id };
    },
    onDone: ({ jobId }, action) =>
      toJob(jobId, { notice: action === "run" ? "Job started." : "Draft saved. Change its values or run it." }),
    onSaveFailed: (error) => {
      if (!(error instanceof ApiError && error.kind === "network")) idempotencyKey.current = newKey();
      form.setError(error);
    },
    onRunFailed: (error, { jobId }) => toJob(jobId, { runError: runErrorState(error) }),
  });

  const titleErrors = form.byField["job_title"];
  return (
    <form className="panel form" noValidate onSubmit={submit} aria-describedby="new-job-intro">
      <p id="new-job-intro" className="visually-hidden">
        Give the job a title and set its values. Save keeps it as a draft; Save and run starts it.
      </p>
      <FormErrors error={form.error} general={form.general} fieldCount={form.fieldCount} />
      <div className={`form-row${titleErrors ? " form-row-invalid" : ""}`}>
        <label htmlFor="job-title" className="label">
          Job title
        </label>
        <div className="form-control">
          <input
            id="job-title"
            name="job_title"
            className="input"
            type="text"
            required
            maxLength={200}
            autoComplete="off"
            placeholder="e.g. Test 1"
            value={title}
            aria-invalid={titleErrors ? true : undefined}
            aria-describedby={titleErrors ? "job-title-error job-title-hint" : "job-title-hint"}
            onChange={(e) => setTitle(e.target.value)}
          />
          {titleErrors && (
            <p id="job-title-error" className="field-error">
              {titleErrors.join(". ")}.
            </p>
          )}
          <p id="job-title-hint" className="hint">
            A name you will recognise in your jobs list.
          </p>
        </div>
      </div>
      <h2 className="form-section">Values</h2>
      <JobFieldsForm
        fields={details.fields}
        values={form.values}
        errors={form.byField}
        disabled={busy !== null}
        onChange={form.change}
      />
      <div className="form-actions">
        <Link className="button button-ghost" to={`/cases/${encodeURIComponent(details.id)}`}>
          Back to the case
        </Link>
        <span className="spacer" />
        <SaveOrRunButtons busy={busy} name="action" saveLabel="Save draft" runLabel="Save and run" />
      </div>
    </form>
  );
}
