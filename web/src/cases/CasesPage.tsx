import { useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { caseListQuery } from "../api/queries";
import type { CaseHeader, Page } from "../api/types";
import { PagedList } from "../components/PagedList";
import { Empty } from "../components/States";
import { matchesCase } from "../lib/caseSearch";
import { withFilter } from "../lib/filterParams";
import { usePageTitle } from "../lib/usePageTitle";
import { CaseCards } from "./CaseCards";
import { CaseSearchForm } from "./CaseSearchForm";

const PER_PAGE = 20;

/** The case catalogue: search by title and tag (kept in the URL), paged. */
export function CasesPage() {
  usePageTitle("Cases");
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const tag = params.get("tag") ?? "";
  const page = Math.max(1, Number(params.get("page")) || 1);
  const cases = useQuery(caseListQuery({ q, tag, page, perPage: PER_PAGE }));

  const tags = useMemo(() => {
    const all = new Set<string>(tag ? [tag] : []);
    for (const item of cases.data?.items ?? []) item.tags.forEach((t) => all.add(t));
    return [...all].sort((a, b) => a.localeCompare(b));
  }, [cases.data, tag]);

  const setParam = (name: "q" | "tag", value: string, options?: { replace: boolean }) =>
    setParams((current) => withFilter(current, name, value), options);

  const filtered = !!(q || tag);
  const shownOf = (data: Page<CaseHeader>) => data.items.filter((c) => matchesCase(c, q, tag));
  const countLine = (data: Page<CaseHeader>, updating: boolean) => {
    const n = data.items.length;
    if (updating) return "Updating…";
    if (filtered) return `${shownOf(data).length} of ${n} cases on this page match`;
    return `${n} ${n === 1 ? "case" : "cases"}${data.hasNext || page > 1 ? ` on page ${page}` : ""}`;
  };

  return (
    <section className="page">
      <header className="page-header">
        <div>
          <h1>Cases</h1>
          <p className="lead">Simulation cases you can run. Open one to read about it and start a job.</p>
        </div>
      </header>

      <CaseSearchForm
        q={q}
        tag={tag}
        tags={tags}
        onSearch={(value) => setParam("q", value, { replace: true })}
        onTag={(value) => setParam("tag", value)}
        onClear={() => setParams({})}
      />

      <PagedList
        query={cases}
        page={page}
        errorTitle="Could not load the cases"
        loadingText="Loading the cases…"
        pagerLabel="Pages of cases"
        status={countLine}
        empty={(data) => (shownOf(data).length === 0 ? <NoCases filtered={filtered} /> : null)}
      >
        {(data) => <CaseCards cases={shownOf(data)} />}
      </PagedList>
    </section>
  );
}

function NoCases({ filtered }: { filtered: boolean }) {
  return filtered ? (
    <Empty title="No case matches your search">
      <p>Try another word or tag, or clear the search.</p>
    </Empty>
  ) : (
    <Empty title="No cases yet">
      <p>An administrator publishes cases; they will appear here.</p>
    </Empty>
  );
}
