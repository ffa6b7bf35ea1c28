import { useQuery } from "@tanstack/react-query";
import { sitesQuery } from "../api/queries";
import { DateText } from "../components/DateText";
import { Empty, ErrorMessage, Loading } from "../components/States";
import { usePageTitle } from "../lib/usePageTitle";
import { SiteCard } from "./SiteCard";

/** Admins: every simulator site with its limits, what is in use, whether it answers and who waits. */
export function SitesPage() {
  usePageTitle("Sites");
  const sites = useQuery(sitesQuery());

  return (
    <section className="page">
      <header className="page-header">
        <div>
          <h1>Sites</h1>
          <p className="lead">Each simulator's limits, what is in use and the jobs waiting for room there.</p>
        </div>
        {sites.data && (
          <p className="muted small sites-read">
            Read <DateText value={new Date(sites.dataUpdatedAt).toISOString()} relative />; again every 15 s.
          </p>
        )}
      </header>

      <ErrorMessage title="Could not read the sites" error={sites.error} onRetry={() => void sites.refetch()} />
      {sites.isPending ? (
        <Loading what="Asking every site…" />
      ) : sites.data?.length === 0 ? (
        <Empty title="No simulator is configured">
          <p>Jobs cannot run until the app's SIMULATORS setting names one.</p>
        </Empty>
      ) : (
        <ul className="site-list">
          {sites.data?.map((site) => (
            <li key={site.name}>
              <SiteCard site={site} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
