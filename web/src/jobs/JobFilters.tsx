import { useEffect, useState } from "react";
import { JOB_STATUSES } from "../api/jobStatuses";
import type { CaseHeader } from "../api/types";
import { STATUS_LABEL } from "../lib/status";
import { useDebouncedValue } from "../lib/useDebouncedValue";
import type { JobFilterState } from "./useJobFilters";

/** Status and case for everyone; a user id and everyone's jobs for admins. */
export function JobFilters({ filters, cases }: { filters: JobFilterState; cases: CaseHeader[] }) {
  const { status, caseId, all, user, isAdmin, filtered, update, showAll, clear } = filters;
  const knownCase = cases.some((c) => c.id === caseId);
  return (
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
          {caseId && !knownCase && <option value={caseId}>{caseId}</option>}
          {cases.map((c) => (
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
            <UserInput user={user} disabled={all} onChange={(value) => update("user", value)} />
          </div>
          <div className="filter filter-check">
            <input
              id="job-all"
              type="checkbox"
              className="checkbox"
              checked={all}
              onChange={(e) => showAll(e.target.checked)}
            />
            <label htmlFor="job-all">Everyone's jobs</label>
          </div>
        </>
      )}
      {filtered && (
        <div className="filter filter-end">
          <button type="button" className="button button-ghost" onClick={clear}>
            Clear filters
          </button>
        </div>
      )}
    </form>
  );
}

/** The user id as typed, applied once typing pauses. */
function UserInput({ user, disabled, onChange }: { user: string; disabled: boolean; onChange: (user: string) => void }) {
  const [text, setText] = useState(user);
  const typed = useDebouncedValue(text, 400);
  useEffect(() => setText(user), [user]);
  useEffect(() => {
    if (typed.trim() !== user) onChange(typed.trim());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typed]);
  return (
    <input
      id="job-user"
      className="input"
      type="search"
      placeholder="anyone"
      autoComplete="off"
      value={text}
      disabled={disabled}
      onChange={(e) => setText(e.target.value)}
    />
  );
}
