import type { FieldSpec, FieldValue } from "../api/types";
import { describeLimits } from "../job/fieldValues";
import { asSentence, humanize } from "../lib/format";
import { isNumeric, isPicked, varyValues, type VaryDraft, type VaryHow } from "./sweepValues";

const HOW_LABEL: Record<VaryHow, string> = { list: "List", range: "Range", pick: "Pick" };

/**
 * The values one varied field takes: a comma list or a start/stop/step range for numbers, the
 * choices picked for a choice or yes/no field, a comma list otherwise. Below, every value it
 * makes, those the API refused marked with why, and the field's own problems.
 */
export function VaryEditor({
  field,
  draft,
  fieldErrors,
  valueErrors,
  disabled,
  onChange,
}: {
  field: FieldSpec;
  draft: VaryDraft;
  /** Problems of the field as a whole (`vary.<name>`). */
  fieldErrors: string[] | undefined;
  /** Problems of single values (`vary.<name>[i]`), by place. */
  valueErrors: Record<number, string[]> | undefined;
  disabled?: boolean;
  onChange: (draft: VaryDraft) => void;
}) {
  const id = `vary-${field.name}`;
  const label = field.label || humanize(field.name);
  const { values, error } = varyValues(field, draft);
  const problems = [...(error ? [error] : []), ...(fieldErrors ?? [])];
  const badValues = Object.entries(valueErrors ?? {}).map(([place, messages]) => [Number(place), messages] as const);
  const invalid = problems.length > 0 || badValues.length > 0;
  const errorId = `${id}-error`;
  const limits = describeLimits(field);
  const hows: VaryHow[] = isNumeric(field) ? ["list", "range"] : isPicked(field) ? ["pick", "list"] : ["list"];
  const set = (change: Partial<VaryDraft>) => onChange({ ...draft, ...change });
  const describedBy = [invalid ? errorId : null, `${id}-hint`].filter(Boolean).join(" ");

  return (
    <fieldset className={`vary-field${invalid ? " vary-field-invalid" : ""}`} disabled={disabled}>
      <legend className="vary-legend">
        {label}
        {field.unit && <span className="muted"> ({field.unit})</span>}
      </legend>
      {hows.length > 1 && (
        <div className="segmented" role="radiogroup" aria-label={`How to give the values of ${label}`}>
          {hows.map((how) => (
            <label key={how} className={`segment${draft.how === how ? " segment-on" : ""}`}>
              <input
                type="radio"
                className="visually-hidden"
                name={`${id}-how`}
                value={how}
                checked={draft.how === how}
                onChange={() => set({ how })}
              />
              {HOW_LABEL[how]}
            </label>
          ))}
        </div>
      )}

      {draft.how === "range" ? (
        <div className="range-inputs">
          {(["start", "stop", "step"] as const).map((part) => (
            <div key={part} className="range-input">
              <label htmlFor={`${id}-${part}`}>{part === "stop" ? "Stop (included)" : part === "start" ? "Start" : "Step"}</label>
              <input
                id={`${id}-${part}`}
                className="input"
                type="text"
                inputMode="decimal"
                autoComplete="off"
                spellCheck={false}
                value={draft[part]}
                aria-invalid={error ? true : undefined}
                aria-describedby={describedBy}
                onChange={(e) => set({ [part]: e.target.value })}
              />
            </div>
          ))}
        </div>
      ) : draft.how === "pick" ? (
        <div className="pick-list" role="group" aria-label={`Values of ${label}`} aria-describedby={describedBy}>
          {(field.type === "boolean" ? ["true", "false"] : (field.choices ?? [])).map((choice) => {
            const boxId = `${id}-pick-${choice}`;
            return (
              <span key={choice} className="pick">
                <input
                  id={boxId}
                  type="checkbox"
                  className="checkbox"
                  checked={draft.picks.includes(choice)}
                  onChange={(e) =>
                    set({ picks: e.target.checked ? [...draft.picks, choice] : draft.picks.filter((p) => p !== choice) })
                  }
                />
                <label htmlFor={boxId}>{field.type === "boolean" ? (choice === "true" ? "Yes" : "No") : choice}</label>
              </span>
            );
          })}
        </div>
      ) : (
        <div className="vary-list">
          <label htmlFor={`${id}-list`} className="visually-hidden">
            Values of {label}
          </label>
          <input
            id={`${id}-list`}
            className="input"
            type="text"
            autoComplete="off"
            spellCheck={false}
            placeholder={isNumeric(field) ? "e.g. 4000, 8000, 12000" : "values, separated by commas"}
            value={draft.list}
            aria-invalid={invalid ? true : undefined}
            aria-describedby={describedBy}
            onChange={(e) => set({ list: e.target.value })}
          />
        </div>
      )}

      <p id={`${id}-hint`} className="hint">
        {draft.how === "list" ? "Separated by commas" + (isNumeric(field) ? " (a point for decimals)" : "") + ". " : ""}
        {limits && `Allowed: ${limits}.`}
      </p>

      {invalid && (
        <div id={errorId} className="field-error vary-errors">
          {problems.map((message, i) => (
            <p key={`f${i}`}>{asSentence(message)}</p>
          ))}
          {badValues.map(([place, messages]) => (
            <p key={`v${place}`}>
              Value {place + 1} ({shown(values[place])}): {messages.map((m) => asSentence(m)).join(" ")}
            </p>
          ))}
        </div>
      )}

      <ValueChips label={label} values={values} bad={new Set(badValues.map(([place]) => place))} />
    </fieldset>
  );
}

const MAX_CHIPS = 60;

/** A value as typed back (no thousands separators: a comma separates values here). */
function shown(value: FieldValue | undefined): string {
  if (value === undefined || value === null || value === "") return "—";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  return String(value);
}

/** Every value the field takes, the refused ones marked. */
function ValueChips({ label, values, bad }: { label: string; values: FieldValue[]; bad: Set<number> }) {
  if (!values.length) return <p className="muted small vary-count">No values yet.</p>;
  const first = values.slice(0, MAX_CHIPS);
  return (
    <div className="vary-values">
      <p className="muted small vary-count">
        {values.length} {values.length === 1 ? "value" : "values"}
        {bad.size > 0 && `, ${bad.size} not allowed`}
      </p>
      <ul className="value-chips" aria-label={`Values of ${label}`}>
        {first.map((value, i) => (
          <li key={i} className={`value-chip${bad.has(i) ? " value-chip-bad" : ""}`}>
            {shown(value)}
            {bad.has(i) && <span className="visually-hidden"> (not allowed)</span>}
          </li>
        ))}
        {values.length > MAX_CHIPS && <li className="value-chip value-chip-more">+{values.length - MAX_CHIPS} more</li>}
      </ul>
    </div>
  );
}
