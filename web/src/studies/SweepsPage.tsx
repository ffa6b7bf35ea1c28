import { useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { caseListQuery, sweepListQuery } from "../api/queries";
import type { SweepSummary } from "../api/types";
import { DateText } from "../components/DateText";
import { PagedList } from "../components/PagedList";
import { Empty } from "../components/States";
import { humanize } from "../lib/format";
import { usePageTitle } from "../lib/usePageTitle";

const PER_PAGE = 20;
const FILTER_CASES = { perPage: 100 };

const MODE_LABEL: Record<SweepSummary["mode"], string> = { grid: "Grid", zip: "Zip", table: "Table" };

/** The user's sweeps, newest first: each links to its page. `?case_id=` shows one case's. */
export function SweepsPage() {
  usePageTitle("Sweeps");
  const [params] = useSearchParams();
  const page = Math.max(1, Number(params.get("page")) || 1);
  const caseId = params.get("case_id") ?? "";
  const sweeps = useQuery(sweepListQuery({ case_id: caseId || undefined }, page, PER_PAGE));
  const cases = useQuery(caseListQuery(FILTER_CASES));
  const caseTitles = useMemo(() => new Map((cases.data?.items ?? []).map((c) => [c.id, c.title])), [cases.data]);

  return (
    <section className="page">
      <header className="page-header">
        <div>
          <h1>My sweeps</h1>
          <p className="lead">
            Many runs of one case over combinations of values. Start one from a{" "}
            <Link to="/cases">case's page</Link>.
          </p>
        </div>
      </header>
      {caseId && (
        <p className="result-filter">
          Sweeps of <strong>{caseTitles.get(caseId) ?? caseId}</strong> · <Link to="/sweeps">all sweeps</Link>
        </p>
      )}
      <PagedList
        query={sweeps}
        page={page}
        errorTitle="Could not load the sweeps"
        loadingText="Loading your sweeps…"
        pagerLabel="Pages of sweeps"
        status={(data) => (data.items.length ? `${data.items.length} sweeps on page ${page}.` : null)}
        empty={(data) =>
          data.items.length === 0 ? (
            <Empty title={page > 1 ? "No more sweeps" : "You have no sweeps yet"}>
              <p>
                Open a <Link to="/cases">case</Link> and use its Sweep form.
              </p>
            </Empty>
          ) : null
        }
      >
        {(data) => (
          <div className="table-wrap">
            <table className="table table-stack jobs-table">
              <thead>
                <tr>
                  <th scope="col">Sweep</th>
                  <th scope="col">Case</th>
                  <th scope="col">Varies</th>
                  <th scope="col" className="num">
                    Runs
                  </th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((sweep) => (
                  <tr key={sweep.sweep_id}>
                    <th scope="row" data-label="Sweep">
                      <Link to={`/sweeps/${encodeURIComponent(sweep.sweep_id)}`} className="row-link">
                        {sweep.title}
                      </Link>
                      {!sweep.complete && <span className="muted small"> (being created)</span>}
                    </th>
                    <td data-label="Case">
                      <span>
                        {caseTitles.get(sweep.case_id) ?? sweep.case_id} <span className="muted">v{sweep.case_version}</span>
                      </span>
                    </td>
                    <td data-label="Varies">
                      <span>
                        {sweep.varied.map(humanize).join(", ") || "—"} <span className="muted">· {MODE_LABEL[sweep.mode]}</span>
                      </span>
                    </td>
                    <td data-label="Runs" className="num">
                      {sweep.total}
                    </td>
                    <td data-label="Created">
                      <DateText value={sweep.created} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </PagedList>
    </section>
  );
}
