import { Link } from "react-router";
import type { JobDetails } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { DateText } from "../components/DateText";
import { StatusChip } from "../components/StatusChip";
import { JobActions } from "./JobActions";

/** The job's title and status, its case and version, its owner when not the user, and its actions. */
export function JobHeader({ job, caseTitle }: { job: JobDetails; caseTitle: string | undefined }) {
  const { user } = useAuth();
  return (
    <header className="page-header">
      <div>
        <div className="title-line">
          <h1>{job.title}</h1>
          <StatusChip status={job.status} />
        </div>
        <p className="lead">
          <Link to={`/cases/${encodeURIComponent(job.case_id)}?version=${job.case_version}`}>{caseTitle ?? job.case_id}</Link>{" "}
          <span className="muted">v{job.case_version}</span>
          {user && job.owner !== user.userId && <> · owned by {job.owner}</>} · created <DateText value={job.created} />
          {job.sweep_id && (
            <>
              {" "}
              · {job.sweep_index !== null ? `run ${job.sweep_index + 1} of ` : "part of "}
              <Link to={`/sweeps/${encodeURIComponent(job.sweep_id)}`}>a sweep</Link>
              {job.sweep_attempt > 0 && `, retry ${job.sweep_attempt}`}
            </>
          )}
        </p>
      </div>
      <div className="page-actions">
        <JobActions job={job} />
      </div>
    </header>
  );
}
