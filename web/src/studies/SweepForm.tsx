import { useMemo, useRef, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { ApiError } from "../api/errors";
import { useCreateSweep } from "../api/mutations";
import { previewQuery } from "../api/queries";
import type { CaseDetails, FieldSpec, PreviewRequest, SweepMode } from "../api/types";
import { draftsFrom, fromDraft, type DraftValue } from "../job/fieldValues";
import { FormErrors } from "../job/FormErrors";
import { JobFieldsForm } from "../job/JobFieldsForm";
import { asSentence, humanize } from "../lib/format";
import { useDebouncedValue } from "../lib/useDebouncedValue";
import { SweepPreview } from "./SweepPreview";
import { TableEditor } from "./TableEditor";
import { VaryEditor } from "./VaryEditor";
import {
  newVaryDraft,
  placeProblems,
  placedCount,
  planOf,
  type SweepDraft,
  type SweepSource,
  type VaryDraft,
} from "./sweepValues";

/** How long the form rests before it is previewed. */
const PREVIEW_DELAY_MS = 400;

function newKey(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

/**
 * A sweep of the case: which fields vary and over which values (a list or a range each, combined
 * as a grid or zipped), or a table of runs; the base values of the rest; a title; whether to run
 * now. While it is edited it is previewed (debounced): the run count, each bad value beside its
 * input, and the sites' quotes. Create goes to the new sweep's page.
 */
export function SweepForm({ details }: { details: CaseDetails }) {
  const navigate = useNavigate();
  const fields = details.fields;
  const [draft, setDraft] = useState<SweepDraft>(() => ({
    title: "",
    source: "vary",
    mode: "grid",
    varied: [],
    vary: {},
    table: "",
    base: draftsFrom(fields, undefined),
    run: true,
  }));
  const [createError, setCreateError] = useState<unknown>(null);
  const create = useCreateSweep();
  const idempotencyKey = useRef(newKey());

  const edit = (change: (current: SweepDraft) => SweepDraft) => {
    setCreateError(null);
    setDraft(change);
  };

  const plan = useMemo(() => planOf(fields, draft), [fields, draft]);
  const request = useMemo<PreviewRequest>(() => ({ case_id: details.id, ...plan }), [details.id, plan]);
  const asked = useDebouncedValue(request, PREVIEW_DELAY_MS);
  const idle =
    draft.source === "vary" && draft.varied.length === 0
      ? "Choose a field to vary to see how many runs the sweep makes."
      : draft.source === "table" && !draft.table.trim()
        ? "Paste or upload a table to see its runs."
        : null;
  const preview = useQuery(previewQuery(asked, { enabled: idle === null }));
  const waiting = asked !== request;

  // After a refused create its problems are shown; once the form changes, the preview's.
  // A request the API could not even read (a 422 of its shape) names its problems in the error.
  const problems =
    createError instanceof ApiError
      ? createError.fieldErrors
      : idle
        ? []
        : preview.error instanceof ApiError && preview.error.status === 422
          ? preview.error.fieldErrors
          : (preview.data?.problems ?? []);
  const placed = useMemo(() => placeProblems(problems), [problems]);
  const baseFields = draft.source === "vary" ? fields.filter((f) => !draft.varied.includes(f.name)) : fields;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setCreateError(null);
    try {
      const created = await create.mutateAsync({
        sweep: { case_id: details.id, ...plan, title: draft.title.trim(), run: draft.run },
        idempotencyKey: idempotencyKey.current,
      });
      navigate(`/sweeps/${encodeURIComponent(created.sweep_id)}`, {
        state: {
          notice: draft.run
            ? `Sweep created: ${created.job_ids.length} runs asked to run.`
            : `Sweep created: ${created.job_ids.length} drafts.`,
        },
      });
    } catch (error) {
      if (!(error instanceof ApiError && error.kind === "network")) idempotencyKey.current = newKey();
      setCreateError(error);
    }
  };

  const toggleVaried = (field: FieldSpec, on: boolean) =>
    edit((current) => ({
      ...current,
      varied: on ? [...current.varied, field.name] : current.varied.filter((name) => name !== field.name),
      vary:
        on && !current.vary[field.name]
          ? { ...current.vary, [field.name]: newVaryDraft(field, fromDraft(field, current.base[field.name] ?? "")) }
          : current.vary,
    }));
  const setVary = (name: string, vary: VaryDraft) => edit((current) => ({ ...current, vary: { ...current.vary, [name]: vary } }));
  const setBase = (name: string, value: DraftValue) => edit((current) => ({ ...current, base: { ...current.base, [name]: value } }));
  const busy = create.isPending;
  const titleErrors = placed.title;

  return (
    <div className="sweep-layout">
      <form id="sweep-form" className="form sweep-form" noValidate onSubmit={submit} aria-labelledby="sweep-heading">
        <FormErrors error={createError} general={placed.general} fieldCount={placedCount(placed)} />

        <div className={`form-row${titleErrors.length ? " form-row-invalid" : ""}`}>
          <label htmlFor="sweep-title" className="label">
            Sweep title
          </label>
          <div className="form-control">
            <input
              id="sweep-title"
              className="input"
              type="text"
              required
              maxLength={150}
              autoComplete="off"
              placeholder="e.g. Speed and time"
              value={draft.title}
              disabled={busy}
              aria-invalid={titleErrors.length ? true : undefined}
              aria-describedby={titleErrors.length ? "sweep-title-error sweep-title-hint" : "sweep-title-hint"}
              onChange={(e) => edit((current) => ({ ...current, title: e.target.value }))}
            />
            {titleErrors.length > 0 && (
              <p id="sweep-title-error" className="field-error">
                {titleErrors.map((m) => asSentence(m)).join(" ")}
              </p>
            )}
            <p id="sweep-title-hint" className="hint">
              Each run is titled with it and its values.
            </p>
          </div>
        </div>

        <div className="form-row" role="radiogroup" aria-labelledby="sweep-source-label">
          <span id="sweep-source-label" className="label">
            Runs from
          </span>
          <div className="form-control option-row">
            {(
              [
                ["vary", "Values per field"],
                ["table", "A table of runs"],
              ] as [SweepSource, string][]
            ).map(([source, text]) => (
              <span key={source} className="radio-option">
                <input
                  id={`sweep-source-${source}`}
                  type="radio"
                  className="radio"
                  name="sweep-source"
                  disabled={busy}
                  checked={draft.source === source}
                  onChange={() => edit((current) => ({ ...current, source }))}
                />
                <label htmlFor={`sweep-source-${source}`}>{text}</label>
              </span>
            ))}
          </div>
        </div>

        {draft.source === "vary" ? (
          <>
            <div
              className={`form-row${placed.vary.length ? " form-row-invalid" : ""}`}
              role="group"
              aria-labelledby="sweep-vary-label"
              aria-describedby={placed.vary.length ? "sweep-vary-error" : undefined}
            >
              <span id="sweep-vary-label" className="label">
                Fields to vary
              </span>
              <div className="form-control">
                <div className="vary-choices">
                  {fields.map((field) => (
                    <span key={field.name} className="radio-option">
                      <input
                        id={`sweep-vary-${field.name}`}
                        type="checkbox"
                        className="checkbox"
                        disabled={busy}
                        checked={draft.varied.includes(field.name)}
                        onChange={(e) => toggleVaried(field, e.target.checked)}
                      />
                      <label htmlFor={`sweep-vary-${field.name}`}>{field.label || humanize(field.name)}</label>
                    </span>
                  ))}
                </div>
                {placed.vary.length > 0 && (
                  <div id="sweep-vary-error" className="field-error vary-errors">
                    {placed.vary.map((m, i) => (
                      <p key={i}>{asSentence(m)}</p>
                    ))}
                  </div>
                )}
              </div>
            </div>

            {draft.varied.length > 0 && (
              <div className="vary-editors">
                {draft.varied.map((name) => {
                  const field = fields.find((f) => f.name === name);
                  if (!field) return null;
                  return (
                    <VaryEditor
                      key={name}
                      field={field}
                      draft={draft.vary[name] ?? newVaryDraft(field, undefined)}
                      fieldErrors={placed.varyField[name]}
                      valueErrors={placed.varyValue[name]}
                      disabled={busy}
                      onChange={(vary) => setVary(name, vary)}
                    />
                  );
                })}
              </div>
            )}

            {draft.varied.length > 1 && (
              <div className="form-row" role="radiogroup" aria-labelledby="sweep-mode-label" aria-describedby="sweep-mode-hint">
                <span id="sweep-mode-label" className="label">
                  Combine the values
                </span>
                <div className="form-control option-row">
                  {(
                    [
                      ["grid", "Every combination (grid)"],
                      ["zip", "Element by element (zip)"],
                    ] as [SweepMode, string][]
                  ).map(([mode, text]) => (
                    <span key={mode} className="radio-option">
                      <input
                        id={`sweep-mode-${mode}`}
                        type="radio"
                        className="radio"
                        name="sweep-mode"
                        disabled={busy}
                        checked={draft.mode === mode}
                        onChange={() => edit((current) => ({ ...current, mode }))}
                      />
                      <label htmlFor={`sweep-mode-${mode}`}>{text}</label>
                    </span>
                  ))}
                  <p id="sweep-mode-hint" className="hint">
                    {draft.mode === "grid"
                      ? "Every value of each field with every value of the others; the first field chosen changes slowest."
                      : "The first values together, then the second values, and so on: the lists need one length."}
                  </p>
                </div>
              </div>
            )}
          </>
        ) : (
          <TableEditor
            fields={fields}
            text={draft.table}
            tableErrors={placed.table}
            rowErrors={placed.rows}
            disabled={busy}
            onChange={(table) => edit((current) => ({ ...current, table }))}
          />
        )}

        <h3 className="form-section">{draft.source === "vary" ? "Values every run shares" : "Base values"}</h3>
        <p className="hint">
          {draft.source === "vary"
            ? "The fields not varied take these values in every run."
            : "A column of the table, or an empty cell, overrides these."}
        </p>
        <JobFieldsForm fields={baseFields} values={draft.base} errors={placed.base} disabled={busy} onChange={setBase} />

        <div className="form-row">
          <label htmlFor="sweep-run" className="label">
            Run now
          </label>
          <div className="form-control run-now">
            <input
              id="sweep-run"
              type="checkbox"
              className="checkbox"
              checked={draft.run}
              disabled={busy}
              aria-describedby="sweep-run-hint"
              onChange={(e) => edit((current) => ({ ...current, run: e.target.checked }))}
            />
            <p id="sweep-run-hint" className="hint">
              Every run is started at once; the sites' limits decide when each begins. Otherwise they are kept as drafts.
            </p>
          </div>
        </div>

      </form>
      {/* After the preview on a narrow screen, under the form on a wide one. */}
      <div className="form-actions sweep-actions">
        <span className="spacer" />
        <button type="submit" form="sweep-form" className="button button-primary" disabled={busy}>
          {busy ? "Creating…" : draft.run ? "Create and run sweep" : "Create sweep"}
        </button>
      </div>
      <aside className="sweep-aside">
        <SweepPreview
          preview={preview}
          waiting={waiting && idle === null}
          idle={idle}
          general={createError ? [] : placed.general}
        />
      </aside>
    </div>
  );
}
