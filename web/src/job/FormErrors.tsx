import { useEffect, useRef } from "react";
import { describeError } from "../api";
import { ApiError } from "../api/errors";
import type { ProblemFieldError } from "../api/types";
import { humanize } from "../lib/format";

/**
 * The top of a form after a failed save: what went wrong in general, the errors that belong to no
 * input, and a count of those shown beside their inputs. Takes focus so keyboard and screen-reader
 * users hear it.
 */
export function FormErrors({
  error,
  general,
  fieldCount,
}: {
  error: unknown;
  general: ProblemFieldError[];
  fieldCount: number;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error) ref.current?.focus();
  }, [error]);
  if (!error) return null;
  const validation = error instanceof ApiError && error.status === 422;
  return (
    <div ref={ref} className="alert alert-error" role="alert" tabIndex={-1}>
      <div>
        <p className="alert-title">
          {validation ? "Some values need your attention" : "That did not work"}
        </p>
        <p>
          {validation && fieldCount > 0
            ? `${describeError(error)} ${fieldCount === 1 ? "One value is" : `${fieldCount} values are`} marked below.`
            : describeError(error)}
        </p>
        {general.length > 0 && (
          <ul className="error-list">
            {general.map((e, i) => (
              <li key={i}>
                {e.field && <strong>{humanize(e.field)}: </strong>}
                {e.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
