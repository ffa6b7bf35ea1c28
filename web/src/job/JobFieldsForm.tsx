import type { FieldSpec } from "../api/types";
import { FieldInput } from "./FieldInput";
import type { DraftValue, DraftValues } from "./fieldValues";

/** The inputs of every field of a case version, in the case's order. */
export function JobFieldsForm({
  fields,
  values,
  errors,
  disabled,
  onChange,
}: {
  fields: FieldSpec[];
  values: DraftValues;
  errors: Record<string, string[]>;
  disabled?: boolean;
  onChange: (name: string, value: DraftValue) => void;
}) {
  if (!fields.length) return <p className="muted">This case has no values to set.</p>;
  return (
    <div className="form-fields">
      {fields.map((field) => (
        <FieldInput
          key={field.name}
          field={field}
          value={values[field.name] ?? ""}
          errors={errors[field.name]}
          disabled={disabled}
          onChange={(value) => onChange(field.name, value)}
        />
      ))}
    </div>
  );
}
