import type { FieldSpec } from "../api/types";
import { formatValue, humanize } from "../lib/format";

function limitsOf(field: FieldSpec): string {
  if (field.type === "choice") return (field.choices ?? []).join(", ");
  const parts: string[] = [];
  if (field.min !== null || field.max !== null) {
    parts.push(`${field.min !== null ? formatValue(field.min) : "…"} – ${field.max !== null ? formatValue(field.max) : "…"}`);
  }
  if (field.max_length !== null) parts.push(`≤ ${field.max_length} characters`);
  if (field.pattern) parts.push(`matches ${field.pattern}`);
  return parts.join("; ") || "—";
}

const TYPE_LABEL: Record<string, string> = {
  number: "Number",
  integer: "Whole number",
  choice: "Choice",
  boolean: "Yes / no",
  string: "Text",
};

/** The values a case takes: name and help, type, unit, default and what is allowed. */
export function CaseFieldTable({ fields }: { fields: FieldSpec[] }) {
  if (!fields.length) return <p className="muted">This case takes no values.</p>;
  return (
    <div className="table-wrap">
      <table className="table table-stack">
        <thead>
          <tr>
            <th scope="col">Value</th>
            <th scope="col">Type</th>
            <th scope="col">Unit</th>
            <th scope="col">Default</th>
            <th scope="col">Allowed</th>
          </tr>
        </thead>
        <tbody>
          {fields.map((f) => (
            <tr key={f.name}>
              <th scope="row" data-label="Value">
                <span className="field-name">{f.label || humanize(f.name)}</span>
                {!f.required && <span className="optional"> optional</span>}
                <code className="field-id">{f.name}</code>
                {f.help && <span className="hint">{f.help}</span>}
              </th>
              <td data-label="Type">{TYPE_LABEL[f.type] ?? f.type}</td>
              <td data-label="Unit">{f.unit ?? "—"}</td>
              <td data-label="Default">{formatValue(f.default)}</td>
              <td data-label="Allowed">{limitsOf(f)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
