import { ApiError } from "../api/errors";
import { useSetJobFields } from "../api/mutations";
import type { FieldSpec, JobDetails, Licences } from "../api/types";
import { changedValues } from "./fieldValues";
import { FormErrors } from "./FormErrors";
import { JobFieldsForm } from "./JobFieldsForm";
import { OfferChoice, useOfferChoice } from "./OfferChoice";
import { SaveOrRunButtons, useSaveOrRun } from "./SaveOrRun";
import { useFieldDrafts } from "./useFieldDrafts";

const RUN_INPUTS = ["simulator"] as const;

/**
 * A draft's values, editable, and where it runs: Save sends what changed (If-Match), Run saves then
 * starts it on the site picked (or the one that starts it soonest).
 */
export function JobDraftEditor({
  job,
  etag,
  fields,
  licences,
  initialError,
  onSaved,
  onRunFailed,
}: {
  job: JobDetails;
  etag: string | null;
  fields: FieldSpec[];
  /** What one run of the case holds. */
  licences: Licences | undefined;
  initialError: unknown;
  onSaved: (notice: string) => void;
  /** The values were saved but the job did not start: the page keeps the error for the reloaded draft. */
  onRunFailed: (error: unknown) => void;
}) {
  const form = useFieldDrafts(fields, job.fields, initialError, RUN_INPUTS);
  const setFields = useSetJobFields();
  const place = useOfferChoice(job.job_id);
  const { busy, submit } = useSaveOrRun({
    jobId: job.job_id,
    simulator: place.picked,
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
      <OfferChoice choice={place} licences={licences} errors={form.byField["simulator"]} disabled={busy !== null} />
      <div className="form-actions">
        <span className="spacer" />
        <SaveOrRunButtons busy={busy} saveLabel="Save values" runLabel="Run job" saveDisabled={!form.dirty} />
      </div>
    </form>
  );
}
