import { useId, useMemo, useState, type ReactNode } from "react";
import { Link } from "react-router";
import type { FieldSpec, SweepDetails } from "../api/types";
import { StatusChip } from "../components/StatusChip";
import { formatPercent, formatValue, humanize } from "../lib/format";
import {
  STATISTICS,
  STATISTIC_LABEL,
  defaultSummary,
  nextSort,
  sameKey,
  sortMembers,
  summaryOptions,
  summaryValue,
  type Sort,
  type SortKey,
  type Statistic,
  type SummaryChoice,
} from "./memberSort";

const numberFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 5 });

/**
 * The members of a sweep, one row each (a link to its job): its varied values, status, and one
 * summary value of its results (a statistic of a CSV column, chosen above the table). Any column
 * sorts the table (click its header; again to turn it round).
 */
export function SweepResults({ sweep, fields }: { sweep: SweepDetails; fields: FieldSpec[] }) {
  const id = useId();
  const options = useMemo(() => summaryOptions(sweep.members), [sweep.members]);
  const [picked, pick] = useState<SummaryChoice | null>(null);
  const summary = defaultSummary(options, picked);
  const [sort, setSort] = useState<Sort>({ key: { by: "index" }, direction: "ascending" });
  const rows = useMemo(() => sortMembers(sweep.members, sort, summary), [sweep.members, sort, summary]);
  const retried = sweep.members.some((m) => m.attempts > 1);
  const field = (name: string) => fields.find((f) => f.name === name);
  const summaryLabel = summary ? `${summary.column} (${STATISTIC_LABEL[summary.stat]})` : "Result";

  const header = (key: SortKey, label: ReactNode, className?: string) => {
    const sorted = sameKey(sort.key, key);
    return (
      <th scope="col" className={className} aria-sort={sorted ? sort.direction : undefined}>
        <button type="button" className="sort-button" onClick={() => setSort(nextSort(sort, key))}>
          <span>{label}</span>
          <span className="sort-mark" aria-hidden="true">
            {sorted ? (sort.direction === "ascending" ? "▲" : "▼") : "↕"}
          </span>
        </button>
      </th>
    );
  };

  return (
    <section className="panel sweep-results" aria-labelledby="results-heading">
      <div className="panel-head">
        <h2 id="results-heading">Runs</h2>
        <span className="muted small">Click a column's header to sort by it.</span>
      </div>
      {summary ? (
        <div className="filters summary-pick" role="group" aria-label="Result shown for each run">
          <div className="filter">
            <label htmlFor={`${id}-output`}>Result file</label>
            <select
              id={`${id}-output`}
              className="input"
              value={summary.output}
              onChange={(e) => {
                const columns = options.get(e.target.value) ?? [];
                pick({ output: e.target.value, column: columns[1] ?? columns[0] ?? "", stat: summary.stat });
              }}
            >
              {[...options.keys()].map((output) => (
                <option key={output} value={output}>
                  {output}
                </option>
              ))}
            </select>
          </div>
          <div className="filter">
            <label htmlFor={`${id}-column`}>Column</label>
            <select
              id={`${id}-column`}
              className="input"
              value={summary.column}
              onChange={(e) => pick({ ...summary, column: e.target.value })}
            >
              {(options.get(summary.output) ?? []).map((column) => (
                <option key={column} value={column}>
                  {column}
                </option>
              ))}
            </select>
          </div>
          <div className="filter">
            <label htmlFor={`${id}-stat`}>Statistic</label>
            <select
              id={`${id}-stat`}
              className="input"
              value={summary.stat}
              onChange={(e) => pick({ ...summary, stat: e.target.value as Statistic })}
            >
              {STATISTICS.map((stat) => (
                <option key={stat} value={stat}>
                  {STATISTIC_LABEL[stat]}
                </option>
              ))}
            </select>
          </div>
        </div>
      ) : (
        <p className="muted small">A summary of each run's CSV results appears here once runs are done.</p>
      )}
      <div className="sort-controls">
        <div className="filter">
          <label htmlFor={`${id}-sort`}>Sort by</label>
          <select
            id={`${id}-sort`}
            className="input"
            value={keyName(sort.key)}
            onChange={(e) => setSort({ key: keyOf(e.target.value), direction: sort.direction })}
          >
            <option value="index">Run number</option>
            {sweep.varied.map((name) => (
              <option key={name} value={`field:${name}`}>
                {field(name)?.label ?? humanize(name)}
              </option>
            ))}
            <option value="status">Status</option>
            {summary && <option value="summary">{summaryLabel}</option>}
          </select>
        </div>
        <div className="filter">
          <label htmlFor={`${id}-direction`}>Order</label>
          <select
            id={`${id}-direction`}
            className="input"
            value={sort.direction}
            onChange={(e) => setSort({ key: sort.key, direction: e.target.value as Sort["direction"] })}
          >
            <option value="ascending">Ascending</option>
            <option value="descending">Descending</option>
          </select>
        </div>
      </div>
      <div className="table-wrap">
        <table className="table table-stack jobs-table sweep-table">
          <caption className="visually-hidden">
            The runs of the sweep, sorted by{" "}
            {sort.key.by === "field"
              ? (field(sort.key.name)?.label ?? sort.key.name)
              : sort.key.by === "summary"
                ? summaryLabel
                : sort.key.by === "status"
                  ? "status"
                  : "run number"}
            , {sort.direction}
          </caption>
          <thead>
            <tr>
              {header({ by: "index" }, "Run")}
              {sweep.varied.map((name) => {
                const spec = field(name);
                return (
                  <FieldHeader key={name} spec={spec} name={name}>
                    {(label) => header({ by: "field", name }, label, "num")}
                  </FieldHeader>
                );
              })}
              {header({ by: "status" }, "Status")}
              {summary && header({ by: "summary" }, summaryLabel, "num")}
              {retried && <th scope="col" className="num">Attempts</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((member) => {
              const value = summaryValue(member, summary);
              return (
                <tr key={member.index} data-index={member.index}>
                  <th scope="row" data-label="Run">
                    <Link to={`/jobs/${encodeURIComponent(member.job_id)}`} className="row-link" title={member.title}>
                      Run {member.index + 1}
                    </Link>
                  </th>
                  {sweep.varied.map((name) => (
                    <td key={name} className="num" data-label={field(name)?.label ?? humanize(name)}>
                      {formatValue(member.values[name])}
                    </td>
                  ))}
                  <td data-label="Status">
                    <span className="status-cell">
                      <StatusChip status={member.status} />
                      {member.status === "running" && member.progress !== null && (
                        <span className="muted small">{formatPercent(member.progress)}</span>
                      )}
                    </span>
                  </td>
                  {summary && (
                    <td className="num" data-label={summaryLabel}>
                      {value === null ? <span className="muted">—</span> : numberFormat.format(value)}
                    </td>
                  )}
                  {retried && (
                    <td className="num" data-label="Attempts">
                      {member.attempts}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** A sort key as an option's value ("field:speed_rpm"), and back. */
const keyName = (key: SortKey): string => (key.by === "field" ? `field:${key.name}` : key.by);
const keyOf = (name: string): SortKey =>
  name.startsWith("field:") ? { by: "field", name: name.slice(6) } : { by: name as "index" | "status" | "summary" };

/** A varied field's column header: its label and unit. */
function FieldHeader({
  spec,
  name,
  children,
}: {
  spec: FieldSpec | undefined;
  name: string;
  children: (label: ReactNode) => ReactNode;
}) {
  const label = (
    <>
      {spec?.label ?? humanize(name)}
      {spec?.unit && <span className="th-unit"> ({spec.unit})</span>}
    </>
  );
  return <>{children(label)}</>;
}
