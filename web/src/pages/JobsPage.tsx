import { useEffect, useMemo, useState } from "react";
import { Link, useLocation, useSearchParams } from "react-router";
import { listCases, listJobs } from "../api";
import type { JobListQuery, JobStatus, JobSummary } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { DateText } from "../components/DateText";
import { Pager } from "../components/Pager";
import { Empty, ErrorMessage, Loading, Notice } from "../components/States";
import { StatusChip } from "../components/StatusChip";
import { JOB_STATUSES, STATUS_LABEL, isActive } from "../lib/status";
import { useDebouncedValue } from "../lib/useDebouncedValue";
import { useLoad } from "../lib/useLoad";
import { usePageTitle } from "../lib/usePageTitle";
import { usePolling } from "../lib/usePolling";

const PER_PAGE = 20;
/** While a row is active the page re-reads the list this often (not in a background tab). */
const POLL_MS = 5000;

/** The user's jobs, newest first: filters in the URL, live status of active rows. */
export function JobsPage() {
  usePageTitle("Jobs");
  const { isAdmin } = useAuth();
  const [params, setParams] = useSearchParams();
  const notice = (useLocation().state as { notice?: string } | null)?.notice;
  const status = (params.get("status") ?? "") as JobStatus | "";
  const caseId = params.get("case_id") ?? "";
  const all = isAdmin && params.get("all") === "true";
  const user = isAdmin ? (params.get("user") ?? "") : "";
  const page = Math.max(1, Number(params.get("page")) || 1);
  const filters: JobListQuery = {
    status: status || undefined,
    case_id: caseId || undefined,
    all: all || undefined,
    user: user || undefined,
  };

  const jobs = useLoad((signal) => listJobs(filters, page, PER_PAGE, signal), [status, caseId, all, user, page]);
  const cases = useLoad((signal) => listCases({ perPage: 100 }, signal), []);
  const anyActive = !!jobs.data?.items.some((job) => isActive(job.status));
  usePolling(
    async (signal) => {
      const fresh = await listJobs(filters, page, PER_PAGE, signal);
      if (!signal.aborted) jobs.setData(fresh);
    },
    POLL_MS,
    anyActive && !jobs.loading,
  );

  const update = (name: string, value: string) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      if (value) next.set(name, value);
      else next.delete(name);
      next.delete("page");
      return next;
    });

  const [userText, setUserText] = useState(user);
  const typedUser = useDebouncedValue(userText, 400);
  useEffect(() => setUserText(user), [user]);
  useEffect(() => {
    if (typedUser.trim() !== user) update("user", typedUser.trim());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typedUser]);

  const caseTitles = useMemo(() => new Map((cases.data?.items ?? []).map((c) => [c.id, c.title])), [cases.data]);
  const filtered = !!(status || caseId || user || all);
  // The list's rows carry no owner today; the column appears when the API sends one.
  const showOwner = !!jobs.data?.items.some((j) => j.owner);

  return (
    <section className="page">
      <header className="page-header">
        <div>
          <h1>{all ? "Everyone's jobs" : user ? `Jobs of ${user}` : "My jobs"}</h1>
          <p className="lead">Newest first. Active jobs update on their own.</p>
        </div>
        <div className="page-actions">
          <Link className="button button-primary" to="/cases">
            New job
          </Link>
        </div>
      </header>

      {notice && (
        <div className="notice-wrap">
          <Notice tone="success">{notice}</Notice>
        </div>
      )}

      <form className="filters" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <div className="filter">
          <label htmlFor="job-status">Status</label>
          <select id="job-status" className="input" value={status} onChange={(e) => update("status", e.target.value)}>
            <option value="">Any status</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABEL[s]}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="job-case">Case</label>
          <select id="job-case" className="input" value={caseId} onChange={(e) => update("case_id", e.target.value)}>
            <option value="">Any case</option>
            {caseId && !caseTitles.has(caseId) && <option value={caseId}>{caseId}</option>}
            {(cases.data?.items ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.title}
              </option>
            ))}
          </select>
        </div>
        {isAdmin && (
          <>
            <div className="filter">
              <label htmlFor="job-user">User id</label>
              <input
                id="job-user"
                className="input"
                type="search"
                placeholder="anyone"
                autoComplete="off"
                value={userText}
                disabled={all}
                onChange={(e) => setUserText(e.target.value)}
              />
            </div>
            <div className="filter filter-check">
              <input
                id="job-all"
                type="checkbox"
                className="checkbox"
                checked={all}
                onChange={(e) =>
                  setParams((current) => {
                    const next = new URLSearchParams(current);
                    if (e.target.checked) next.set("all", "true");
                    else next.delete("all");
                    next.delete("user");
                    next.delete("page");
                    return next;
                  })
                }
              />
              <label htmlFor="job-all">Everyone's jobs</label>
            </div>
          </>
        )}
        {filtered && (
          <div className="filter filter-end">
            <button type="button" className="button button-ghost" onClick={() => setParams({})}>
              Clear filters
            </button>
          </div>
        )}
      </form>

      <ErrorMessage title="Could not load the jobs" error={jobs.error} onRetry={jobs.reload} />
      {jobs.loading && !jobs.data && <Loading what="Loading your jobs…" />}
      {jobs.data &&
        (jobs.data.items.length === 0 ? (
          filtered ? (
            <Empty title="No job matches these filters">
              <p>Change or clear the filters to see more.</p>
            </Empty>
          ) : page > 1 ? (
            <Empty title="No more jobs">
              <Link to="/jobs">Back to the first page</Link>
            </Empty>
          ) : (
            <Empty title="You have no jobs yet">
              <p>
                Open a <Link to="/cases">case</Link> and start a job from it.
              </p>
            </Empty>
          )
        ) : (
          <>
            <p className="result-count" role="status" aria-live="polite">
              {jobs.loading ? "Updating…" : anyActive ? "Watching active jobs for changes." : `${jobs.data.items.length} jobs on page ${page}.`}
            </p>
            <div className={jobs.loading ? "is-loading" : undefined} aria-busy={jobs.loading}>
              <JobTable jobs={jobs.data.items} caseTitles={caseTitles} showOwner={showOwner} />
            </div>
            <Pager page={page} hasPrev={jobs.data.hasPrev} hasNext={jobs.data.hasNext} label="Pages of jobs" />
          </>
        ))}
    </section>
  );
}

function JobTable({
  jobs,
  caseTitles,
  showOwner,
}: {
  jobs: JobSummary[];
  caseTitles: Map<string, string>;
  showOwner: boolean;
}) {
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
