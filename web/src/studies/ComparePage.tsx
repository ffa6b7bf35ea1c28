import { lazy, Suspense, useId, useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { ApiError } from "../api/errors";
import { caseQuery, comparisonQuery } from "../api/queries";
import type { CompareTarget } from "../api/studies";
import type { Comparison, FieldSpec } from "../api/types";
import { Breadcrumb } from "../components/Breadcrumb";
import { ErrorMessage, Loading, Notice } from "../components/States";
import { StatusChip } from "../components/StatusChip";
import { formatBytes, formatValue, humanize } from "../lib/format";
import { usePageTitle } from "../lib/usePageTitle";
import { STATISTICS, STATISTIC_LABEL, type Statistic } from "./memberSort";
import {
  MAX_COMPARED,
  MIN_COMPARED,
  differsFromFirst,
  overlayOptions,
  runColor,
  runLabel,
  shortMd5,
  statsDifferFromFirst,
  visibleRows,
} from "./compareRows";

// The overlay brings the chart library: loaded when the comparison has a CSV to plot.
const OverlayPlot = lazy(() => import("./OverlayPlot"));

const JOBS = [{ to: "/jobs", label: "Jobs" }];
const numberFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 5 });

/** The jobs to compare from the URL: `?job=A&job=B...` or `?sweep_id=S`. */
function useCompareTarget(): CompareTarget | null {
  const [params] = useSearchParams();
  const sweepId = params.get("sweep_id");
  const jobIds = params.getAll("job");
  return useMemo(() => {
    if (sweepId) return { sweepId };
    const unique = [...new Set(jobIds.filter(Boolean))];
    return unique.length ? { jobIds: unique } : null;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sweepId, jobIds.join("&")]);
}

/**
 * Jobs of one case side by side, as columns: their values (only those that differ, unless all are
 * asked for), their outputs (identical or not, size and MD5), the summaries of their CSV columns,
 * and one CSV column of every job drawn on one plot.
 */
export function ComparePage() {
  const target = useCompareTarget();
  usePageTitle("Compare runs");
  const tooFew = !target || ("jobIds" in target && target.jobIds.length < MIN_COMPARED);
  const tooMany = !!target && "jobIds" in target && target.jobIds.length > MAX_COMPARED;
  const comparison = useQuery({ ...comparisonQuery(target ?? { jobIds: [] }), enabled: !tooFew && !tooMany });
  const data = comparison.data;
  const firstVersion = data?.jobs[0]?.case_version;
  const caseVersion = useQuery({ ...caseQuery(data?.case_id ?? "", firstVersion), enabled: !!data });
  const sweepId = target && "sweepId" in target ? target.sweepId : null;
  const trail = sweepId ? [{ to: "/sweeps", label: "Sweeps" }, { to: `/sweeps/${encodeURIComponent(sweepId)}`, label: "Sweep" }] : JOBS;

  if (tooFew || tooMany) {
    return (
      <section className="page">
        <Breadcrumb trail={JOBS} current="Compare" />
        <h1>Compare runs</h1>
        <Notice tone="info">
          {tooMany
            ? `At most ${MAX_COMPARED} runs can be compared at once.`
            : "Choose two or more runs of one case to compare: tick them in "}
          {!tooMany && <Link to="/jobs">your jobs list</Link>}
          {!tooMany && ", or open a sweep and use Compare all."}
        </Notice>
      </section>
    );
  }
  if (comparison.isPending) return <Loading what="Comparing the runs…" />;
  if (!data) {
    return (
      <section className="page">
        <Breadcrumb trail={trail} current="Compare" />
        <h1>Compare runs</h1>
        <ErrorMessage
          title={
            comparison.error instanceof ApiError && comparison.error.status === 422
              ? "These runs cannot be compared"
              : comparison.error instanceof ApiError && comparison.error.status === 404
                ? "A run (or the sweep) was not found"
                : "Could not compare the runs"
          }
          error={comparison.error}
          onRetry={() => void comparison.refetch()}
        />
        <p>
          <Link to="/jobs">Back to your jobs</Link>
        </p>
      </section>
    );
  }

  const fields = caseVersion.data?.fields ?? [];
  return (
    <section className="page compare-page">
      <Breadcrumb trail={trail} current="Compare" />
      <header className="page-header">
        <div>
          <h1>
            Compare {data.jobs.length} runs
          </h1>
          <p className="lead">
            <Link to={`/cases/${encodeURIComponent(data.case_id)}`}>{caseVersion.data?.title ?? data.case_id}</Link>
            {sweepId && (
              <>
                {" "}
                · the runs of <Link to={`/sweeps/${encodeURIComponent(sweepId)}`}>their sweep</Link>
              </>
            )}
          </p>
        </div>
      </header>
      {comparison.error != null && (
        <ErrorMessage title="Could not refresh the comparison" error={comparison.error} onRetry={() => void comparison.refetch()} />
      )}

      <RunsKey comparison={data} />
      <FieldsTable comparison={data} fields={fields} />
      <OutputsTable comparison={data} />
      <ColumnsTable comparison={data} />
      <Overlay comparison={data} />
    </section>
  );
}

/** Which job each column is: its label and colour, title (a link), status and case version. */
function RunsKey({ comparison }: { comparison: Comparison }) {
  return (
    <section className="panel" aria-labelledby="runs-heading">
      <h2 id="runs-heading">Runs</h2>
      <div className="table-wrap">
        <table className="table table-stack runs-key">
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Case version</th>
            </tr>
          </thead>
          <tbody>
            {comparison.jobs.map((job, i) => (
              <tr key={job.job_id}>
                <th scope="row" data-label="Column">
                  <span className="swatch" style={{ background: runColor(i) }} aria-hidden="true" />
                  {runLabel(i)}
                </th>
                <td data-label="Job">
                  <Link to={`/jobs/${encodeURIComponent(job.job_id)}`}>{job.title}</Link>
                </td>
                <td data-label="Status">
                  <StatusChip status={job.status} />
                </td>
                <td data-label="Case version">v{job.case_version}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Column headers: one per job, "Run n" linking to it (its title on hover). */
function JobHeaders({ comparison }: { comparison: Comparison }) {
  return (
    <>
      {comparison.jobs.map((job, i) => (
        <th key={job.job_id} scope="col" className="num" title={job.title}>
          {runLabel(i)}
        </th>
      ))}
    </>
  );
}

function FieldsTable({ comparison, fields }: { comparison: Comparison; fields: FieldSpec[] }) {
  const id = useId();
  const [onlyDifferences, setOnlyDifferences] = useState(true);
  const rows = visibleRows(comparison.fields, onlyDifferences);
  const differing = comparison.fields.filter((f) => f.differs).length;
  const unit = (name: string) => fields.find((f) => f.name === name)?.unit;
  return (
    <section className="panel" aria-labelledby="fields-heading">
      <div className="panel-head">
        <h2 id="fields-heading">Values</h2>
        <span className="muted small">
          {differing} of {comparison.fields.length} differ
        </span>
        <span className="spacer" />
        <span className="toggle">
          <input
            id={`${id}-only`}
            type="checkbox"
            className="checkbox"
            checked={onlyDifferences}
            onChange={(e) => setOnlyDifferences(e.target.checked)}
          />
          <label htmlFor={`${id}-only`}>Only differences</label>
        </span>
      </div>
      {rows.length === 0 ? (
        <p className="muted">Every value is the same in all {comparison.jobs.length} runs.</p>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Values, table">
          <table className="table compare-table">
            <caption className="visually-hidden">
              {onlyDifferences ? "The values that differ between the runs" : "Every value of the runs"}; a value that differs from
              run 1's is marked
            </caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <JobHeaders comparison={comparison} />
              </tr>
            </thead>
            <tbody>
              {rows.map((field) => {
                const marks = differsFromFirst(field.values);
                const fieldUnit = unit(field.name);
                return (
                  <tr key={field.name} className={field.differs ? "row-differs" : undefined}>
                    <th scope="row">
                      {field.label || humanize(field.name)}
                      {fieldUnit && <span className="muted"> ({fieldUnit})</span>}
                      <code className="field-id">{field.name}</code>
                    </th>
                    {field.values.map((value, i) => (
                      <td key={i} className={`num${marks[i] ? " cell-differs" : ""}`}>
                        {value === null ? <span className="muted">—</span> : formatValue(value)}
                        {marks[i] && <span className="visually-hidden"> (differs from run 1)</span>}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function OutputsTable({ comparison }: { comparison: Comparison }) {
  return (
    <section className="panel" aria-labelledby="outputs-heading">
      <h2 id="outputs-heading">Result files</h2>
      {comparison.outputs.length === 0 ? (
        <p className="muted">None of the runs has result files yet.</p>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Result files, table">
          <table className="table compare-table">
            <caption className="visually-hidden">Each result file: whether it is identical in every run, its size and MD5 per run</caption>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">In every run</th>
                <JobHeaders comparison={comparison} />
              </tr>
            </thead>
            <tbody>
              {comparison.outputs.map((output) => (
                <tr key={output.name} className={output.identical ? undefined : "row-differs"}>
                  <th scope="row">
                    <span className="file-name">{output.name}</span>
                  </th>
                  <td>
                    {output.identical ? (
                      <span className="same-mark">Identical</span>
                    ) : (
                      <span className="differs-mark">Differs</span>
                    )}
                  </td>
                  {output.files.map((file, i) => (
                    <td key={i} className="num file-cell">
                      {file ? (
                        <>
                          <span>{formatBytes(file.size)}</span>
                          <code className="md5" title={file.md5 ? `MD5 ${file.md5}` : "no MD5"}>
                            <span className="visually-hidden">MD5 </span>
                            {shortMd5(file.md5)}
                          </code>
                        </>
                      ) : (
                        <span className="muted">missing</span>
                      )}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ColumnsTable({ comparison }: { comparison: Comparison }) {
  const id = useId();
  const [stat, setStat] = useState<Statistic>("last");
  if (!comparison.columns.length) return null;
  return (
    <section className="panel" aria-labelledby="columns-heading">
      <div className="panel-head">
        <h2 id="columns-heading">CSV columns</h2>
        <span className="spacer" />
        <span className="inline-filter">
          <label htmlFor={`${id}-stat`}>Statistic</label>
          <select id={`${id}-stat`} className="input input-small" value={stat} onChange={(e) => setStat(e.target.value as Statistic)}>
            {STATISTICS.map((s) => (
              <option key={s} value={s}>
                {STATISTIC_LABEL[s]}
              </option>
            ))}
          </select>
        </span>
      </div>
      <div className="table-wrap" tabIndex={0} role="region" aria-label="CSV columns, table">
        <table className="table compare-table">
          <caption className="visually-hidden">
            The {STATISTIC_LABEL[stat]} of each numeric column of each CSV file, per run; a value that differs from run 1's is marked
          </caption>
          <thead>
            <tr>
              <th scope="col">Column</th>
              <JobHeaders comparison={comparison} />
            </tr>
          </thead>
          <tbody>
            {comparison.columns.map((column) => {
              const marks = statsDifferFromFirst(column, stat);
              return (
                <tr key={`${column.output}:${column.column}`} className={column.differs ? "row-differs" : undefined}>
                  <th scope="row">
                    {column.column}
                    <span className="field-id file-name">{column.output}</span>
                  </th>
                  {column.stats.map((stats, i) => (
                    <td key={i} className={`num${marks[i] ? " cell-differs" : ""}`}>
                      {stats ? numberFormat.format(stats[stat]) : <span className="muted">—</span>}
                      {marks[i] && <span className="visually-hidden"> (differs from run 1)</span>}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** One CSV column of every run on one plot: the file and column picked here. */
function Overlay({ comparison }: { comparison: Comparison }) {
  const id = useId();
  const options = useMemo(() => overlayOptions(comparison), [comparison]);
  const [picked, pick] = useState<{ output: string; column: string } | null>(null);
  const [xAxis, setXAxis] = useState<"first" | "row">("first");
  if (options.size === 0) return null;
  const [firstOutput, firstColumns] = [...options.entries()][0];
  const output = picked && options.has(picked.output) ? picked.output : firstOutput;
  const columns = options.get(output) ?? firstColumns;
  const column = picked && columns.includes(picked.column) ? picked.column : (columns[1] ?? columns[0]);
  return (
    <section className="panel" aria-labelledby="overlay-heading">
      <h2 id="overlay-heading">Overlay plot</h2>
      <div className="filters overlay-controls">
        <div className="filter">
          <label htmlFor={`${id}-output`}>CSV file</label>
          <select
            id={`${id}-output`}
            className="input"
            value={output}
            onChange={(e) => {
              const next = options.get(e.target.value) ?? [];
              pick({ output: e.target.value, column: next[1] ?? next[0] ?? "" });
            }}
          >
            {[...options.keys()].map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor={`${id}-column`}>Column</label>
          <select id={`${id}-column`} className="input" value={column} onChange={(e) => pick({ output, column: e.target.value })}>
            {columns.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor={`${id}-x`}>X axis</label>
          <select id={`${id}-x`} className="input" value={xAxis} onChange={(e) => setXAxis(e.target.value as "first" | "row")}>
            <option value="first">First column{columns[0] && columns[0] !== column ? ` (${columns[0]})` : ""}</option>
            <option value="row">Row number</option>
          </select>
        </div>
      </div>
      <Suspense fallback={<Loading what="Opening the plot…" />}>
        <OverlayPlot comparison={comparison} output={output} column={column} xAxis={xAxis} />
      </Suspense>
    </section>
  );
}
