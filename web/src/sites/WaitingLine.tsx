import { Link } from "react-router";
import type { Site } from "../api/types";
import { DateText } from "../components/DateText";
import { localizeTimes } from "../lib/format";

/** The jobs waiting for room on a site, head of the line first: place, job, owner, since when and why. */
export function WaitingLine({ site }: { site: Site }) {
  if (site.waiting.length === 0) return <p className="muted">No job is waiting.</p>;
  const line = [...site.waiting].sort((a, b) => a.place - b.place);
  return (
    <div className="table-wrap">
      <table className="table table-stack waiting-table">
        <caption className="visually-hidden">Jobs waiting on {site.name}, head of the line first</caption>
        <thead>
          <tr>
            <th scope="col" className="num">
              Place
            </th>
            <th scope="col">Job</th>
            <th scope="col">Owner</th>
            <th scope="col">Waiting since</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {line.map((entry) => (
            <tr key={entry.job_id}>
              <td data-label="Place" className="num">
                {entry.place}
              </td>
              <th scope="row" data-label="Job">
                <Link to={`/jobs/${encodeURIComponent(entry.job_id)}`} className="row-link job-id">
                  {entry.job_id}
                </Link>
              </th>
              <td data-label="Owner">{entry.owner}</td>
              <td data-label="Waiting since">
                <DateText value={entry.since} relative />
              </td>
              <td data-label="Why">{localizeTimes(entry.reason)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
