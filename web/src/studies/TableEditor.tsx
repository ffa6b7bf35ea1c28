import { useMemo, useState } from "react";
import type { FieldSpec } from "../api/types";
import { asSentence } from "../lib/format";
import { readTable } from "./sweepValues";

const MAX_ROWS_SHOWN = 200;
const MAX_FILE_BYTES = 4_000_000;

/**
 * Runs given as a table: CSV pasted or uploaded, a header row of field names, then one row per run
 * (an empty cell takes the base value). Its rows are shown with each row's problems beside it.
 */
export function TableEditor({
  fields,
  text,
  tableErrors,
  rowErrors,
  disabled,
  onChange,
}: {
  fields: FieldSpec[];
  text: string;
  /** Problems of the table as a whole (`table`, `table.<column>`). */
  tableErrors: string[];
  /** Problems of rows (`rows[n]...`), by row number from 1. */
  rowErrors: Record<number, string[]>;
  disabled?: boolean;
  onChange: (text: string) => void;
}) {
  const [fileError, setFileError] = useState<string | null>(null);
  const table = useMemo(() => readTable(text), [text]);
  const problems = [...(fileError ? [fileError] : []), ...tableErrors];
  const badRows = Object.keys(rowErrors).length;
  const invalid = problems.length > 0 || badRows > 0;
  const example = fields
    .filter((f) => f.type === "number" || f.type === "integer")
    .slice(0, 2)
    .map((f) => f.name);

  const upload = async (file: File | undefined) => {
    setFileError(null);
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      setFileError(`${file.name} is too large (at most 4 MB).`);
      return;
    }
    try {
      onChange(await file.text());
    } catch {
      setFileError(`${file.name} could not be read.`);
    }
  };

  return (
    <div className="table-editor">
      <div className={`form-row form-row-wide${invalid ? " form-row-invalid" : ""}`}>
        <label htmlFor="sweep-table" className="label">
          Table of runs (CSV)
        </label>
        <div className="form-control form-control-wide">
          <textarea
            id="sweep-table"
            className="input textarea"
            rows={7}
            spellCheck={false}
            disabled={disabled}
            placeholder={example.length ? `${example.join(",")}\n…` : "field_name,other_field\n…"}
            value={text}
            aria-invalid={invalid || undefined}
            aria-describedby={`sweep-table-hint${invalid ? " sweep-table-error" : ""}`}
            onChange={(e) => onChange(e.target.value)}
          />
          <p id="sweep-table-hint" className="hint">
            A header row of field names, then one row per run; an empty cell takes the base value. Field names:{" "}
            {fields.map((f, i) => (
              <span key={f.name}>
                {i > 0 && ", "}
                <code>{f.name}</code>
              </span>
            ))}
            .
          </p>
          {invalid && (
            <div id="sweep-table-error" className="field-error vary-errors">
              {problems.map((message, i) => (
                <p key={i}>{asSentence(message)}</p>
              ))}
              {badRows > 0 && <p>{badRows === 1 ? "One row needs" : `${badRows} rows need`} your attention: see below.</p>}
            </div>
          )}
          <div className="file-pick">
            <label htmlFor="sweep-table-file">Or upload a CSV file</label>
            <input
              id="sweep-table-file"
              type="file"
              accept=".csv,text/csv,text/plain"
              disabled={disabled}
              onChange={(e) => {
                void upload(e.target.files?.[0]);
                e.target.value = "";
              }}
            />
          </div>
        </div>
      </div>
      {table.header.length > 0 && table.rows.length > 0 && (
        <TableRows header={table.header} rows={table.rows} rowErrors={rowErrors} />
      )}
    </div>
  );
}

function TableRows({ header, rows, rowErrors }: { header: string[]; rows: string[][]; rowErrors: Record<number, string[]> }) {
  const shown = rows.slice(0, MAX_ROWS_SHOWN);
  return (
    <div className="table-wrap csv-table table-rows" tabIndex={0} role="region" aria-label="The table's runs">
      <table className="table table-compact">
        <caption className="visually-hidden">The runs of the table, with each row's problems</caption>
        <thead>
          <tr>
            <th scope="col">Row</th>
            {header.map((name, i) => (
              <th key={i} scope="col">
                {name}
              </th>
            ))}
            <th scope="col">Problems</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((row, i) => {
            const errors = rowErrors[i + 1];
            return (
              <tr key={i} className={errors ? "row-invalid" : undefined}>
                <th scope="row">{i + 1}</th>
                {header.map((_, c) => (
                  <td key={c}>{row[c] ?? ""}</td>
                ))}
                <td className="row-problems">{errors ? errors.map((m) => asSentence(m)).join(" ") : <span className="muted">—</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.length > MAX_ROWS_SHOWN && (
        <p className="muted small">
          The first {MAX_ROWS_SHOWN} of {rows.length} rows are shown.
        </p>
      )}
    </div>
  );
}
