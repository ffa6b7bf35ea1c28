import type { CsvData } from "./csv";

export const PREVIEW_ROWS = 100;

/** The first rows of a CSV file as a scrollable table with a sticky header. */
export function CsvTable({ data, caption }: { data: CsvData; caption: string }) {
  const rows = data.rows.slice(0, PREVIEW_ROWS);
  const numeric = new Set(data.numericColumns);
  return (
    <div className="csv-table" tabIndex={0} role="region" aria-label={`${caption}, table`}>
      <table className="table table-compact">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col" className="num muted">
              #
            </th>
            {data.columns.map((column) => (
              <th key={column} scope="col" className={numeric.has(column) ? "num" : undefined}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>
              <td className="num muted">{i + 1}</td>
              {data.columns.map((column) => (
                <td key={column} className={numeric.has(column) ? "num" : undefined}>
                  {row[column] ?? ""}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
