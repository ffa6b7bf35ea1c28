import { ApiError } from "../api/errors";
import { useSetJobFields } from "../api/mutations";
import type { FieldSpec, JobDetails } from "../api/types";
import { changedValues } from "./fieldValues";
import { FormErrors } from "./FormErrors";
import { JobFieldsForm } from "./JobFieldsForm";
import { SaveOrRunButtons, useSaveOrRun } from "./SaveOrRun";
import { useFieldDrafts } from "./useFieldDrafts";

/** A draft's values, editable: Save sends what changed (If-Match), Run saves then starts it. */
export function JobDraftEditor({
  job,
  etag,
  fields,
  initialError,
  onSaved,
  onRunFailed,
}: {
  job: JobDetails;
  etag: string | null;
  fields: FieldSpec[];
  initialError: unknown;
  onSaved: (notice: string) => void;
  /** The values were saved but the job did not start: the page keeps the error for the reloaded draft. */
  onRunFailed: (error: unknown) => void;
}) {
  const form = useFieldDrafts(fields, job.fields, initialError);
  const setFields = useSetJobFields();
  const { busy, submit } = useSaveOrRun({
    jobId: job.job_id,
    save: async () => {
      form.setError(null);
      const changed = changedValues(fields, form.values, job.fields);
      const anyChanged = Object.keys(changed).length > 0;
      if (anyChanged) await setFields.mutateAsync({ jobId: job.job_id, fields: changed, etag });
      return { jobId: job.job_id, anyChanged };
    },
    onDone: ({ anyChanged }, action) => {
      form.reset();
      onSaved(action === "run" ? "Job started." : anyChanged ? "Values saved." : "Nothing had changed.");
    },
    onSaveFailed: (error) => {
      form.setError(error);
      if (error instanceof ApiError && error.status === 412) {
        onSaved("Someone changed this job meanwhile: it was reloaded. Check the values and try again.");
      }
    },
    onRunFailed: (error) => {
      form.setError(error);
      onRunFailed(error);
    },
  });

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
        <SaveOrRunButtons busy={busy} saveLabel="Save values" runLabel="Run job" saveDisabled={!form.dirty} />
      </div>
    </form>
  );
}
