import { useEffect, useRef } from "react";
import { Link } from "react-router";
import type { JobSummary } from "../api/types";
import { DateText } from "../components/DateText";
import { StatusChip } from "../components/StatusChip";

/**
 * One row per job: a box to select it (for a comparison), title (a link to it, and to its sweep
 * when it is a sweep's run), case and version, status, owner when known, dates.
 */
export function JobTable({
  jobs,
  caseTitles,
  selected,
  onSelect,
}: {
  jobs: JobSummary[];
  caseTitles: Map<string, string>;
  /** The ids of the jobs selected (on this page or others). */
  selected: ReadonlySet<string>;
  onSelect: (jobIds: string[], on: boolean) => void;
}) {
  // The list's rows carry no owner today; the column appears when the API sends one.
  const showOwner = jobs.some((j) => j.owner);
  const onPage = jobs.filter((job) => selected.has(job.job_id)).length;
  const all = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (all.current) all.current.indeterminate = onPage > 0 && onPage < jobs.length;
  }, [onPage, jobs.length]);
  return (
    <div className="table-wrap">
      <table className="table table-stack jobs-table">
        <thead>
          <tr>
            <th scope="col" className="select-cell">
              <input
                ref={all}
                type="checkbox"
                className="checkbox"
                aria-label="Select every job on this page"
                checked={jobs.length > 0 && onPage === jobs.length}
                onChange={(e) => onSelect(jobs.map((job) => job.job_id), e.target.checked)}
              />
            </th>
            <th scope="col">Job</th>
            <th scope="col">Case</th>
            <th scope="col">Status</th>
            {showOwner && <th scope="col">Owner</th>}
            <th scope="col">Created</th>
            <th scope="col">Last change</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const checked = selected.has(job.job_id);
            return (
              <tr key={job.job_id} className={checked ? "row-selected" : undefined}>
                <td className="select-cell" data-label="Select to compare">
                  <input
                    type="checkbox"
                    className="checkbox"
                    aria-label={`Select ${job.title}`}
                    checked={checked}
                    onChange={(e) => onSelect([job.job_id], e.target.checked)}
                  />
                </td>
                <th scope="row" data-label="Job">
                  <Link to={`/jobs/${encodeURIComponent(job.job_id)}`} className="row-link">
                    {job.title}
                  </Link>
                  {job.sweep_id && (
                    <Link
                      to={`/sweeps/${encodeURIComponent(job.sweep_id)}`}
                      className="sweep-link"
                      aria-label={`Open the sweep of ${job.title}`}
                    >
                      Open the sweep
                    </Link>
                  )}
                </th>
                <td data-label="Case">
                  <span>
                    {caseTitles.get(job.case_id) ?? job.case_id} <span className="muted">v{job.case_version}</span>
                  </span>
                </td>
                <td data-label="Status">
                  <StatusChip status={job.status} />
                </td>
                {showOwner && <td data-label="Owner">{job.owner ?? "—"}</td>}
                <td data-label="Created">
                  <DateText value={job.created} />
                </td>
                <td data-label="Last change">
                  <DateText value={job.updated} relative />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
