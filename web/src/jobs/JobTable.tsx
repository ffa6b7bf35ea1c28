import { Link } from "react-router";
import type { JobSummary } from "../api/types";
import { DateText } from "../components/DateText";
import { StatusChip } from "../components/StatusChip";

/** One row per job: title (a link to it), case and version, status, owner when known, dates. */
export function JobTable({ jobs, caseTitles }: { jobs: JobSummary[]; caseTitles: Map<string, string> }) {
  // The list's rows carry no owner today; the column appears when the API sends one.
  const showOwner = jobs.some((j) => j.owner);
  return (
    <div className="table-wrap">
      <table className="table table-stack jobs-table">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Case</th>
            <th scope="col">Status</th>
            {showOwner && <th scope="col">Owner</th>}
            <th scope="col">Created</th>
            <th scope="col">Last change</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.job_id}>
              <th scope="row" data-label="Job">
                <Link to={`/jobs/${encodeURIComponent(job.job_id)}`} className="row-link">
                  {job.title}
                </Link>
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
          ))}
        </tbody>
      </table>
    </div>
  );
}
