import { useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { listCases } from "../api";
import { DateText } from "../components/DateText";
import { Pager } from "../components/Pager";
import { Empty, ErrorMessage, Loading } from "../components/States";
import { TagList } from "../components/TagList";
import { matchesCase } from "../lib/caseSearch";
import { useDebouncedValue } from "../lib/useDebouncedValue";
import { useLoad } from "../lib/useLoad";
import { usePageTitle } from "../lib/usePageTitle";

const PER_PAGE = 20;

/** The case catalogue: search by title and tag (kept in the URL), paged. */
export function CasesPage() {
  usePageTitle("Cases");
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const tag = params.get("tag") ?? "";
  const page = Math.max(1, Number(params.get("page")) || 1);

  const [text, setText] = useState(q);
  const typed = useDebouncedValue(text, 300);
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    if (typed === q) return;
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (typed.trim()) next.set("q", typed.trim());
        else next.delete("q");
        next.delete("page");
        return next;
      },
      { replace: true },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typed]);

  const { data, error, loading, reload } = useLoad(
    (signal) => listCases({ q, tag, page, perPage: PER_PAGE }, signal),
    [q, tag, page],
  );

  const shown = useMemo(() => (data ? data.items.filter((c) => matchesCase(c, q, tag)) : []), [data, q, tag]);
  const tags = useMemo(() => {
    const all = new Set<string>(tag ? [tag] : []);
    for (const item of data?.items ?? []) item.tags.forEach((t) => all.add(t));
    return [...all].sort((a, b) => a.localeCompare(b));
  }, [data, tag]);

  const setTag = (value: string) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      if (value) next.set("tag", value);
      else next.delete("tag");
      next.delete("page");
      return next;
    });

  const filtered = !!(q || tag);

  return (
    <section className="page">
      <header className="page-header">
        <div>
          <h1>Cases</h1>
          <p className="lead">Simulation cases you can run. Open one to read about it and start a job.</p>
        </div>
      </header>

      <form className="filters" role="search" aria-label="Search cases" onSubmit={(e) => e.preventDefault()}>
        <div className="filter filter-grow">
          <label htmlFor="case-search">Search by title or tag</label>
          <input
            id="case-search"
            className="input"
            type="search"
            placeholder="e.g. smoothie, heat"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </div>
        <div className="filter">
          <label htmlFor="case-tag">Tag</label>
          <select id="case-tag" className="input" value={tag} onChange={(e) => setTag(e.target.value)}>
            <option value="">All tags</option>
            {tags.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        {filtered && (
          <div className="filter filter-end">
            <button
              type="button"
              className="button button-ghost"
              onClick={() => {
                setText("");
                setParams({});
              }}
            >
              Clear search
            </button>
          </div>
        )}
      </form>

      <ErrorMessage title="Could not load the cases" error={error} onRetry={reload} />
      {loading && !data && <Loading what="Loading the cases…" />}
      {data && (
        <>
          <p className="result-count" role="status" aria-live="polite">
            {loading
              ? "Updating…"
              : filtered
                ? `${shown.length} of ${data.items.length} cases on this page match`
                : `${data.items.length} ${data.items.length === 1 ? "case" : "cases"}${data.hasNext || page > 1 ? ` on page ${page}` : ""}`}
          </p>
          {shown.length === 0 ? (
            filtered ? (
              <Empty title="No case matches your search">
                <p>Try another word or tag, or clear the search.</p>
              </Empty>
            ) : (
              <Empty title="No cases yet">
                <p>An administrator publishes cases; they will appear here.</p>
              </Empty>
            )
          ) : (
            <ul className={`card-grid${loading ? " is-loading" : ""}`} aria-busy={loading}>
              {shown.map((item) => (
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
          )}
          <Pager page={page} hasPrev={data.hasPrev} hasNext={data.hasNext} label="Pages of cases" />
        </>
      )}
    </section>
  );
}
