import { Link } from "react-router";
import type { CaseHeader } from "../api/types";
import { DateText } from "../components/DateText";
import { TagList } from "../components/TagList";

/** One card per case: title (a link to it), version, summary, tags, id, last update, New job. */
export function CaseCards({ cases }: { cases: CaseHeader[] }) {
  return (
    <ul className="card-grid">
      {cases.map((item) => (
        <li key={item.id} className="card case-card">
          <div className="case-card-head">
            <h2 className="card-title">
              <Link to={`/cases/${encodeURIComponent(item.id)}`}>{item.title}</Link>
            </h2>
            <span className="version" title="Latest version">v{item.version}</span>
          </div>
          <p className="card-text">{item.summary}</p>
          <TagList tags={item.tags} label={`Tags of ${item.title}`} />
          <div className="card-foot">
            <span className="muted small">
              <code>{item.id}</code> · updated <DateText value={item.updated} relative />
            </span>
            <Link
              className="button button-secondary button-small"
              to={`/cases/${encodeURIComponent(item.id)}/new`}
              aria-label={`New job from ${item.title}`}
            >
              New job
            </Link>
          </div>
        </li>
      ))}
    </ul>
  );
}
