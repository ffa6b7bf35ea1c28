import type { ReactNode } from "react";
import { describeError } from "../api";
import { ApiError } from "../api/errors";
import { signInUrl } from "../api/auth";

/** A spinner with a sentence saying what is being loaded. */
export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {what}
    </div>
  );
}

/** Nothing to show, and what to do about it. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children && <div className="state-body">{children}</div>}
    </div>
  );
}

/** An error in plain words, with a way to retry when one is given. */
export function ErrorMessage({
  error,
  title,
  onRetry,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}) {
  if (!error) return null;
  const signedOut = error instanceof ApiError && error.kind === "signed-out";
  const here = window.location.pathname + window.location.search;
  return (
    <div className="alert alert-error" role="alert">
      <div>
        {title && <p className="alert-title">{title}</p>}
        <p>{describeError(error)}</p>
      </div>
      {signedOut ? (
        <a className="button button-secondary" href={signInUrl(here)}>
          Sign in
        </a>
      ) : (
        onRetry && (
          <button type="button" className="button button-secondary" onClick={onRetry}>
            Try again
          </button>
        )
      )}
    </div>
  );
}

export function Notice({ children, tone = "info" }: { children: ReactNode; tone?: "info" | "success" | "warning" }) {
  return (
    <div className={`alert alert-${tone}`} role="status">
      <div>{children}</div>
    </div>
  );
}
