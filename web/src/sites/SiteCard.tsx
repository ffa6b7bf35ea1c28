import { useId } from "react";
import type { Site } from "../api/types";
import { formatLicenceUse, licenceUse } from "../lib/sites";
import { WaitingLine } from "./WaitingLine";

/** One site: whether it answers, its slots, licences and users' shares in use, and its line. */
export function SiteCard({ site }: { site: Site }) {
  const headingId = useId();
  const perUser = Object.entries(site.per_user).sort(([a], [b]) => a.localeCompare(b));
  const share = site.limits.max_jobs_per_user;
  return (
    <section className="panel site-card" aria-labelledby={headingId}>
      <div className="panel-head site-head">
        <h2 id={headingId}>{site.name}</h2>
        <span className="scheduler">{site.scheduler}</span>
        <Reachability site={site} />
      </div>
      {!site.reachable && site.reason && (
        <p className="alert alert-warning site-reason">
          <span>
            <strong>Not reachable:</strong> {site.reason}
          </span>
        </p>
      )}
      <dl className="facts site-facts">
        <dt>Slots</dt>
        <dd>
          {site.running}/{site.limits.max_parallel_jobs} in use
        </dd>
        <dt>Licences in use</dt>
        <dd>{formatLicenceUse(licenceUse(site.limits.licences, site.licences_in_use))}</dd>
        <dt>Per user</dt>
        <dd>
          {perUser.length ? perUser.map(([user, count]) => `${user} ${count}`).join(", ") : <span className="muted">no one</span>}
          {share !== null && <span className="muted"> (up to {share} each)</span>}
        </dd>
        <dt>Live reports</dt>
        <dd>{site.nodes_call_out ? "its nodes call simgate" : "pulled over SSH (its nodes cannot call out)"}</dd>
      </dl>
      <h3 className="site-line-heading">Waiting line</h3>
      <WaitingLine site={site} />
    </section>
  );
}

function Reachability({ site }: { site: Site }) {
  return site.reachable ? (
    <span className="site-state site-state-ok">Reachable</span>
  ) : (
    <span className="site-state site-state-down">Unreachable</span>
  );
}
