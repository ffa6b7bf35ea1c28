import { Navigate, useSearchParams } from "react-router";
import { signInUrl } from "../api";
import { useAuth } from "../auth/AuthContext";
import { Loading } from "../components/States";
import { usePageTitle } from "../lib/usePageTitle";

/** What signed-out visitors see: what simgate does, and a way in. */
export function LandingPage() {
  usePageTitle(undefined);
  const { user, loading } = useAuth();
  const [params] = useSearchParams();
  const from = params.get("from");
  const returnTo = from && from.startsWith("/") && !from.startsWith("//") ? from : "/cases";
  if (loading) return <Loading what="Checking who is signed in…" />;
  if (user) return <Navigate to={returnTo} replace />;
  return (
    <section className="landing">
      <div className="landing-copy">
        <h1>Run simulations from your browser</h1>
        <p className="lead">
          Pick a simulation case, set its values, press run. simgate runs it on a remote simulator, shows its
          progress as it happens, and keeps the results for you to preview, plot and download.
        </p>
        <a className="button button-primary button-large" href={signInUrl(returnTo)}>
          Sign in
        </a>
        <p className="muted small">Sign in with your organisation's account.</p>
      </div>
      <ol className="landing-steps" aria-label="How it works">
        <li>
          <span className="step-number" aria-hidden="true">1</span>
          <div>
            <strong>Choose a case</strong>
            <p>Every case documents its model, its values with their units and limits, and its results.</p>
          </div>
        </li>
        <li>
          <span className="step-number" aria-hidden="true">2</span>
          <div>
            <strong>Set values and run</strong>
            <p>Values are checked before anything starts; the job goes to a free simulator.</p>
          </div>
        </li>
        <li>
          <span className="step-number" aria-hidden="true">3</span>
          <div>
            <strong>Watch it and get the results</strong>
            <p>Status updates live; results can be previewed, plotted and downloaded.</p>
          </div>
        </li>
      </ol>
    </section>
  );
}
