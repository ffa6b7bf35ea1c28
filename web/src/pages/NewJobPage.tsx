import { useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { createJob, getCase, runJob } from "../api";
import { ApiError } from "../api/errors";
import { ErrorMessage, Loading } from "../components/States";
import { valuesFrom } from "../job/fieldValues";
import { FormErrors } from "../job/FormErrors";
import { JobFieldsForm } from "../job/JobFieldsForm";
import { useFieldDrafts } from "../job/useFieldDrafts";
import { useLoad } from "../lib/useLoad";
import { usePageTitle } from "../lib/usePageTitle";

export interface JobPageState {
  /** Shown once on the job page: what just happened. */
  notice?: string;
  /** A run that failed right after the draft was created (the draft exists). */
  runError?: { status: number; problem: ApiError["problem"]; message: string };
}

function newKey(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

/** A title and the case's fields; Save creates the draft, Save and run also starts it. */
export function NewJobPage() {
  const { caseId = "" } = useParams();
  const navigate = useNavigate();
  const { data: details, error: loadError, loading, reload } = useLoad((signal) => getCase(caseId, undefined, signal), [caseId]);
  usePageTitle(details ? `New job · ${details.title}` : "New job");

  const [title, setTitle] = useState("");
  const [busy, setBusy] = useState<"save" | "run" | null>(null);
  const form = useFieldDrafts(details?.fields, undefined);
  // One key per attempt: a double click or a retry after a lost answer returns the same job.
  const idempotencyKey = useRef(newKey());

  if (loading && !details) return <Loading what="Loading the case's values…" />;
  if (loadError || !details) {
    return (
      <section className="page">
        <ErrorMessage title="Could not load this case" error={loadError} onRetry={reload} />
      </section>
    );
  }

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const andRun = submitter?.value === "run";
    setBusy(andRun ? "run" : "save");
    form.setError(null);
    let jobId: string;
    try {
      const created = await createJob(
        { case_id: details.id, job_title: title.trim(), fields: valuesFrom(details.fields, form.values) },
        idempotencyKey.current,
      );
      jobId = created.job_id;
    } catch (error) {
      if (!(error instanceof ApiError && error.kind === "network")) idempotencyKey.current = newKey();
      form.setError(error);
      setBusy(null);
      return;
    }
    if (!andRun) {
      navigate(`/jobs/${encodeURIComponent(jobId)}`, { state: { notice: "Draft saved. Change its values or run it." } satisfies JobPageState });
      return;
    }
    try {
      await runJob(jobId);
      navigate(`/jobs/${encodeURIComponent(jobId)}`, { state: { notice: "Job started." } satisfies JobPageState });
    } catch (error) {
      const state: JobPageState =
        error instanceof ApiError
          ? { runError: { status: error.status, problem: error.problem, message: error.message } }
          : { runError: { status: 0, problem: null, message: String(error) } };
      navigate(`/jobs/${encodeURIComponent(jobId)}`, { state });
    }
  };

  const titleErrors = form.byField["job_title"];
  return (
    <section className="page page-narrow">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/cases">Cases</Link>
        <span aria-hidden="true"> / </span>
        <Link to={`/cases/${encodeURIComponent(details.id)}`}>{details.title}</Link>
        <span aria-hidden="true"> / </span>
        <span aria-current="page">New job</span>
      </nav>
      <header className="page-header">
        <div>
          <h1>New job</h1>
          <p className="lead">
            From <strong>{details.title}</strong> (version {details.version}). Values start at the case's defaults.
          </p>
        </div>
      </header>

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
          <button type="submit" name="action" value="save" className="button button-secondary" disabled={busy !== null}>
            {busy === "save" ? "Saving…" : "Save draft"}
          </button>
          <button type="submit" name="action" value="run" className="button button-primary" disabled={busy !== null}>
            {busy === "run" ? "Starting…" : "Save and run"}
          </button>
        </div>
      </form>
    </section>
  );
}
