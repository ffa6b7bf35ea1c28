import { useQuery } from "@tanstack/react-query";
import { useParams } from "react-router";
import { caseQuery } from "../api/queries";
import { Breadcrumb } from "../components/Breadcrumb";
import { ErrorMessage, Loading } from "../components/States";
import { usePageTitle } from "../lib/usePageTitle";
import { NewJobForm } from "./NewJobForm";

/** A title and the case's fields; Save creates the draft, Save and run also starts it. */
export function NewJobPage() {
  const { caseId = "" } = useParams();
  const { data: details, error, isPending, refetch } = useQuery(caseQuery(caseId));
  usePageTitle(details ? `New job · ${details.title}` : "New job");

  if (isPending) return <Loading what="Loading the case's values…" />;
  if (!details) {
    return (
      <section className="page">
        <ErrorMessage title="Could not load this case" error={error} onRetry={() => void refetch()} />
      </section>
    );
  }
  const casePath = `/cases/${encodeURIComponent(details.id)}`;
  return (
    <section className="page page-narrow">
      <Breadcrumb
        trail={[
          { to: "/cases", label: "Cases" },
          { to: casePath, label: details.title },
        ]}
        current="New job"
      />
      <header className="page-header">
        <div>
          <h1>New job</h1>
          <p className="lead">
            From <strong>{details.title}</strong> (version {details.version}). Values start at the case's defaults.
          </p>
        </div>
      </header>
      <NewJobForm details={details} />
    </section>
  );
}
