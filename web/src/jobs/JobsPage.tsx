import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link, useLocation, useNavigate } from "react-router";
import { isActive } from "../api/jobStatuses";
import { caseListQuery, jobListQuery } from "../api/queries";
import type { JobSummary, Page } from "../api/types";
import { PagedList } from "../components/PagedList";
import { Empty, Notice } from "../components/States";
import { usePageTitle } from "../lib/usePageTitle";
import { MAX_COMPARED, MIN_COMPARED, canCompare, compareUrl } from "../studies/compareRows";
import { JobFilters } from "./JobFilters";
import { JobTable } from "./JobTable";
import { useJobFilters } from "./useJobFilters";

const PER_PAGE = 20;
/** The cases offered by the case filter: one read, shared by every visit (see caseListQuery). */
const FILTER_CASES = { perPage: 100 };

/** The user's jobs, newest first: filters in the URL, live status of active rows, runs selected to compare. */
export function JobsPage() {
  usePageTitle("Jobs");
  const navigate = useNavigate();
  const filters = useJobFilters();
  // Kept while the user pages and filters: a comparison may take jobs from several pages.
  const [selected, setSelected] = useState<string[]>([]);
  const selectedSet = useMemo(() => new Set(selected), [selected]);
  const select = (jobIds: string[], on: boolean) =>
    setSelected((current) =>
      on ? [...current, ...jobIds.filter((id) => !current.includes(id))] : current.filter((id) => !jobIds.includes(id)),
    );
  const notice = (useLocation().state as { notice?: string } | null)?.notice;
  const jobs = useQuery(jobListQuery(filters.query, filters.page, PER_PAGE));
  const cases = useQuery(caseListQuery(FILTER_CASES));
  const caseItems = useMemo(() => cases.data?.items ?? [], [cases.data]);
  const caseTitles = useMemo(() => new Map(caseItems.map((c) => [c.id, c.title])), [caseItems]);
  const { all, user, page, filtered, sweepId } = filters;

  const countLine = (data: Page<JobSummary>, updating: boolean) => {
    if (data.items.length === 0) return null;
    if (updating) return "Updating…";
    return data.items.some((job) => isActive(job.status))
      ? "Watching active jobs for changes."
      : `${data.items.length} jobs on page ${page}.`;
  };

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

      {sweepId && (
        <p className="result-filter">
          The runs of one sweep, in its order. <Link to={`/sweeps/${encodeURIComponent(sweepId)}`}>Open the sweep</Link> ·{" "}
          <Link to="/jobs">All jobs</Link>
        </p>
      )}

      <JobFilters filters={filters} cases={caseItems} />

      <div className="selection-bar" role="group" aria-label="Compare jobs">
        <span className="muted small" role="status" aria-live="polite">
          {selected.length === 0
            ? `Select ${MIN_COMPARED} to ${MAX_COMPARED} jobs of one case to compare them.`
            : `${selected.length} selected${selected.length > MAX_COMPARED ? `: at most ${MAX_COMPARED} can be compared` : ""}.`}
        </span>
        {selected.length > 0 && (
          <button type="button" className="button button-ghost button-small" onClick={() => setSelected([])}>
            Clear selection
          </button>
        )}
        <button
          type="button"
          className={`button button-small ${canCompare(selected.length) ? "button-primary" : "button-secondary"}`}
          disabled={!canCompare(selected.length)}
          onClick={() => navigate(compareUrl({ jobIds: selected }))}
        >
          Compare ({selected.length})
        </button>
      </div>

      <PagedList
        query={jobs}
        page={page}
        errorTitle="Could not load the jobs"
        loadingText="Loading your jobs…"
        pagerLabel="Pages of jobs"
        status={countLine}
        empty={(data) => (data.items.length === 0 ? <NoJobs filtered={filtered} page={page} /> : null)}
      >
        {(data) => <JobTable jobs={data.items} caseTitles={caseTitles} selected={selectedSet} onSelect={select} />}
      </PagedList>
    </section>
  );
}

function NoJobs({ filtered, page }: { filtered: boolean; page: number }) {
  if (filtered) {
    return (
      <Empty title="No job matches these filters">
        <p>Change or clear the filters to see more.</p>
      </Empty>
    );
  }
  if (page > 1) {
    return (
      <Empty title="No more jobs">
        <Link to="/jobs">Back to the first page</Link>
      </Empty>
    );
  }
  return (
    <Empty title="You have no jobs yet">
      <p>
        Open a <Link to="/cases">case</Link> and start a job from it.
      </p>
    </Empty>
  );
}
