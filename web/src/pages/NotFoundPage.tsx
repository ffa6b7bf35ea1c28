import { Link } from "react-router";
import { usePageTitle } from "../lib/usePageTitle";

export function NotFoundPage() {
  usePageTitle("Not found");
  return (
    <section className="page">
      <h1>Page not found</h1>
      <p>There is no page at this address.</p>
      <p>
        <Link to="/cases">Go to the cases</Link> or <Link to="/jobs">to your jobs</Link>.
      </p>
    </section>
  );
}
