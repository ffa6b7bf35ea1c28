import type { FieldSpec, FieldValues } from "../api/types";
import { formatValue, humanize } from "../lib/format";

/** The values a job ran with, labelled from its case version (names alone when the case is unknown). */
export function JobValues({ values, fields }: { values: FieldValues; fields: FieldSpec[] | undefined }) {
  const specs = new Map((fields ?? []).map((f) => [f.name, f]));
  const names = fields ? [...fields.map((f) => f.name), ...Object.keys(values).filter((n) => !specs.has(n))] : Object.keys(values);
  if (!names.length) return <p className="muted">This job has no values.</p>;
  return (
    <dl className="values">
      {names.map((name) => {
        const spec = specs.get(name);
        const value = values[name];
        return (
          <div key={name} className="values-row">
            <dt>
              {spec?.label || humanize(name)}
              <code className="field-id">{name}</code>
            </dt>
            <dd>
              {formatValue(value)}
              {spec?.unit && value !== null && value !== "" && <span className="muted"> {spec.unit}</span>}
              {spec && value !== spec.default && <span className="changed" title="Differs from the case's default"> changed</span>}
            </dd>
          </div>
        );
      })}
    </dl>
  );
}
