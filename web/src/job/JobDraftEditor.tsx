import { useState, type FormEvent } from "react";
import { runJob, setJobFields } from "../api";
import { ApiError } from "../api/errors";
import type { FieldSpec, JobDetails } from "../api/types";
import { changedValues } from "./fieldValues";
import { FormErrors } from "./FormErrors";
import { JobFieldsForm } from "./JobFieldsForm";
import { useFieldDrafts } from "./useFieldDrafts";

/** A draft's values, editable: Save sends what changed (If-Match), Run saves then starts it. */
export function JobDraftEditor({
  job,
  etag,
  fields,
  initialError,
  onSaved,
}: {
  job: JobDetails;
  etag: string | null;
  fields: FieldSpec[];
  initialError: unknown;
  onSaved: (notice: string) => void;
}) {
  const form = useFieldDrafts(fields, job.fields, initialError);
  const [busy, setBusy] = useState<"save" | "run" | null>(null);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const andRun = submitter?.value === "run";
    setBusy(andRun ? "run" : "save");
    form.setError(null);
    try {
      const changed = changedValues(fields, form.values, job.fields);
      if (Object.keys(changed).length) await setJobFields(job.job_id, changed, etag);
      if (andRun) await runJob(job.job_id);
      form.reset();
      onSaved(andRun ? "Job started." : Object.keys(changed).length ? "Values saved." : "Nothing had changed.");
    } catch (error) {
      form.setError(error);
      if (error instanceof ApiError && error.status === 412) {
        onSaved("Someone changed this job meanwhile: it was reloaded. Check the values and try again.");
      }
    } finally {
      setBusy(null);
    }
  };

  return (
    <form className="panel form" noValidate onSubmit={submit} aria-labelledby="draft-heading">
      <div className="panel-head">
        <h2 id="draft-heading">Values</h2>
        <span className="muted small">Draft: change them, then run.</span>
      </div>
      <FormErrors error={form.error} general={form.general} fieldCount={form.fieldCount} />
      <JobFieldsForm
        fields={fields}
        values={form.values}
        errors={form.byField}
        disabled={busy !== null}
        onChange={form.change}
      />
      <div className="form-actions">
        <span className="spacer" />
        <button type="submit" value="save" className="button button-secondary" disabled={busy !== null || !form.dirty}>
          {busy === "save" ? "Saving…" : "Save values"}
        </button>
        <button type="submit" value="run" className="button button-primary" disabled={busy !== null}>
          {busy === "run" ? "Starting…" : "Run job"}
        </button>
      </div>
    </form>
  );
}
