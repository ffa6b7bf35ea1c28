import type { FieldSpec } from "../api/types";
import { asSentence, formatValue, humanize } from "../lib/format";
import { describeLimits, type DraftValue } from "./fieldValues";

/** One input generated from a case field, with its label, unit, limits, help and server errors. */
export function FieldInput({
  field,
  value,
  errors,
  disabled,
  onChange,
}: {
  field: FieldSpec;
  value: DraftValue;
  errors: string[] | undefined;
  disabled?: boolean;
  onChange: (value: DraftValue) => void;
}) {
  const id = `field-${field.name}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const invalid = !!errors?.length;
  const defaultText =
    field.default !== null && field.default !== "" ? `default ${formatValue(field.default)}${field.unit ? ` ${field.unit}` : ""}` : "";
  const limits = [describeLimits(field), defaultText].filter(Boolean).join(" · ");
  const hint = field.help || limits;
  const describedBy = [invalid ? errorId : null, hint ? hintId : null].filter(Boolean).join(" ") || undefined;
  const label = field.label || humanize(field.name);
  const common = {
    id,
    name: field.name,
    disabled,
    "aria-invalid": invalid || undefined,
    "aria-describedby": describedBy,
    required: field.required && field.type !== "boolean",
  };

  let input;
  if (field.type === "boolean") {
    input = (
      <input
        {...common}
        type="checkbox"
        className="checkbox"
        checked={value === true}
        onChange={(e) => onChange(e.target.checked)}
      />
    );
  } else if (field.type === "choice") {
    input = (
      <select {...common} className="input" value={String(value)} onChange={(e) => onChange(e.target.value)}>
        {!field.required && <option value="">—</option>}
        {(field.choices ?? []).map((choice) => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
      </select>
    );
  } else if (field.type === "number" || field.type === "integer") {
    input = (
      <div className="input-with-unit">
        <input
          {...common}
          type="text"
          inputMode={field.type === "integer" ? "numeric" : "decimal"}
          autoComplete="off"
          spellCheck={false}
          className="input"
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
        />
        {field.unit && (
          <span className="unit" aria-hidden="true">
            {field.unit}
          </span>
        )}
      </div>
    );
  } else {
    input = (
      <input
        {...common}
        type="text"
        className="input"
        autoComplete="off"
        maxLength={field.max_length ?? undefined}
        value={String(value)}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }

  return (
    <div className={`form-row${invalid ? " form-row-invalid" : ""}${field.type === "boolean" ? " form-row-check" : ""}`}>
      <label htmlFor={id} className="label">
        {label}
        {field.unit && <span className="visually-hidden"> (in {field.unit})</span>}
        {!field.required && <span className="optional"> optional</span>}
      </label>
      <div className="form-control">
        {input}
        {invalid && (
          <p id={errorId} className="field-error">
            {errors!.map((message, i) => (
              <span key={i}>{asSentence(message)} </span>
            ))}
          </p>
        )}
        {hint && (
          <p id={hintId} className="hint">
            {field.help && <span className="hint-help">{field.help}</span>}
            {limits && <span className="hint-limits">{limits}</span>}
          </p>
        )}
      </div>
    </div>
  );
}
