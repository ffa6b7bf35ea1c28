import { useQuery } from "@tanstack/react-query";
import { Link, useParams, useSearchParams } from "react-router";
import { caseQuery } from "../api/queries";
import type { CaseDetails } from "../api/types";
import { Breadcrumb } from "../components/Breadcrumb";
import { DateText } from "../components/DateText";
import { DescriptionText } from "../components/DescriptionText";
import { ErrorMessage, Loading } from "../components/States";
import { TagList } from "../components/TagList";
import { formatValue } from "../lib/format";
import { describeLicenceNeed } from "../lib/sites";
import { usePageTitle } from "../lib/usePageTitle";
import { SweepForm } from "../studies/SweepForm";
import { CaseFieldTable } from "./CaseFieldTable";

const CASES = [{ to: "/cases", label: "Cases" }];

/** One case version: description, fields with units, defaults and limits, outputs, resources and licences. */
export function CasePage() {
  const { caseId = "" } = useParams();
  const [params] = useSearchParams();
  const version = Number(params.get("version")) || undefined;
  const { data, error, isPending, refetch } = useQuery(caseQuery(caseId, version));
  usePageTitle(data?.title ?? "Case");
  const licences = data ? describeLicenceNeed(data.licences ?? {}) : null;

  if (isPending) return <Loading what="Loading the case…" />;
  if (!data) {
    return (
      <section className="page">
        <Breadcrumb trail={CASES} current={caseId} />
        <ErrorMessage title="Could not load this case" error={error} onRetry={() => void refetch()} />
      </section>
    );
  }
  return (
    <section className="page">
      <Breadcrumb trail={CASES} current={data.title} />
      <header className="page-header">
        <div>
          <h1>{data.title}</h1>
          <p className="lead">{data.summary}</p>
          <TagList tags={data.tags} label="Tags" />
        </div>
        <div className="page-actions">
          <Link className="button button-primary" to={`/cases/${encodeURIComponent(data.id)}/new`}>
            New job from this case
          </Link>
          <a className="button button-secondary" href="#sweep-heading">
            Sweep this case
          </a>
        </div>
      </header>

      <VersionNote details={data} />

      <div className="two-columns">
        <div className="stack">
          <section className="panel" aria-labelledby="about">
            <h2 id="about">About this case</h2>
            <DescriptionText text={data.description} />
          </section>
          <section className="panel" aria-labelledby="values">
            <h2 id="values">Values you can set</h2>
            <CaseFieldTable fields={data.fields} />
          </section>
        </div>
        <aside className="stack">
          <section className="panel" aria-labelledby="facts">
            <h2 id="facts">Facts</h2>
            <dl className="facts">
              <dt>Case id</dt>
              <dd>
                <code>{data.id}</code>
              </dd>
              <dt>Version</dt>
              <dd>
                v{data.version}
                {data.version === data.latest_version ? " (latest)" : ` of ${data.latest_version}`}
              </dd>
              <dt>Published</dt>
              <dd>
                <DateText value={data.updated} />
              </dd>
              <dt>Resources</dt>
              <dd>
                {data.resources.cores} {data.resources.cores === 1 ? "core" : "cores"}, {formatValue(data.resources.memory_mb)} MB
                memory, up to {formatValue(data.resources.wall_time_minutes)} min
              </dd>
              {licences && (
                <>
                  <dt>Licences</dt>
                  <dd>{licences} while it is on its simulator.</dd>
                </>
              )}
              <dt>Scripts</dt>
              <dd>
                {data.scripts.map((s, i) => (
                  <span key={s.name}>
                    {i > 0 && ", "}
                    <code>{s.name}</code>
                    {s.entry_point && <span className="muted"> (entry point)</span>}
                  </span>
                ))}
              </dd>
              {data.simulators.length > 0 && (
                <>
                  <dt>Simulators</dt>
                  <dd>{data.simulators.join(", ")}</dd>
                </>
              )}
            </dl>
          </section>
          <section className="panel" aria-labelledby="outputs">
            <h2 id="outputs">Results it produces</h2>
            {data.outputs.length ? (
              <ul className="output-specs">
                {data.outputs.map((o) => (
                  <li key={o.pattern}>
                    <code>{o.pattern}</code>
                    <span>{o.description}</span>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="muted">The case does not list its results.</p>
            )}
            <p className="muted small">Every job also keeps its standard output and error logs.</p>
          </section>
        </aside>
      </div>

      {data.version === data.latest_version && data.fields.length > 0 && (
        <section className="panel sweep-panel" aria-labelledby="sweep-heading">
          <div className="panel-head">
            <h2 id="sweep-heading" tabIndex={-1}>
              Sweep
            </h2>
            <span className="muted small">Many runs of this case over combinations of values, or a table of runs.</span>
          </div>
          <SweepForm key={data.id} details={data} />
        </section>
      )}
    </section>
  );
}

function VersionNote({ details }: { details: CaseDetails }) {
  if (details.version === details.latest_version) return null;
  return (
    <div className="alert alert-warning" role="status">
      <div>
        This is version {details.version}. The latest is{" "}
        <Link to={`/cases/${encodeURIComponent(details.id)}`}>version {details.latest_version}</Link>; new jobs use the
        latest.
      </div>
    </div>
  );
}
