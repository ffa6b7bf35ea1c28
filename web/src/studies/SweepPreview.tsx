import type { UseQueryResult } from "@tanstack/react-query";
import type { PreviewAnswer, ProblemFieldError } from "../api/types";
import { ErrorMessage } from "../components/States";
import { asSentence, humanize, localizeTimes } from "../lib/format";
import { QuotesTable } from "./QuotesTable";

/**
 * What the sweep being edited would be, as the API previews it: how many runs, whether every value
 * is valid (the bad ones are marked beside their inputs), where a run would go now and each site's
 * quote for all the runs.
 */
export function SweepPreview({
  preview,
  waiting,
  idle,
  general,
}: {
  preview: UseQueryResult<PreviewAnswer>;
  /** The form changed since the answer shown was asked for. */
  waiting: boolean;
  /** Nothing to preview yet (no field varied, no table). */
  idle: string | null;
  /** Problems that belong to no input of the form. */
  general: ProblemFieldError[];
}) {
  const answer = idle ? undefined : preview.data;
  const busy = !idle && (waiting || preview.isFetching);
  const problems = answer?.problems.length ?? 0;
  return (
    <section className="sweep-preview" aria-labelledby="sweep-preview-heading" aria-busy={busy}>
      <div className="panel-head">
        <h3 id="sweep-preview-heading">What would run</h3>
        {busy && <span className="muted small">Checking…</span>}
      </div>
      <div className="run-count" role="status" aria-live="polite" aria-atomic="true">
        {idle ? (
          <p className="muted">{idle}</p>
        ) : answer ? (
          <>
            <p className="run-count-number">
              <strong data-runs={answer.runs}>{answer.runs}</strong> {answer.runs === 1 ? "run" : "runs"}
            </p>
            <p className={answer.valid ? "run-count-ok" : "run-count-bad"}>
              {answer.valid
                ? "Every value is valid."
                : `${problems} ${problems === 1 ? "problem" : "problems"} to fix first: each is marked in the form.`}
            </p>
            {general.length > 0 && (
              <ul className="error-list field-error-list">
                {general.map((problem, i) => (
                  <li key={i}>
                    {problem.field && <strong>{humanize(problem.field)}: </strong>}
                    {asSentence(problem.message)}
                  </li>
                ))}
              </ul>
            )}
          </>
        ) : preview.isPending ? (
          <p className="muted">Checking…</p>
        ) : null}
      </div>
      {!idle && <ErrorMessage title="Could not preview the sweep" error={preview.error} onRetry={() => void preview.refetch()} />}
      {answer && (
        <>
          {answer.placement && (
            <p className="placement-text">
              <span className="placement-label">Where a run would go now: </span>
              {localizeTimes(answer.placement)}
            </p>
          )}
          <h4 className="quotes-heading">Quotes for {answer.runs === 1 ? "the run" : `all ${answer.runs} runs`}</h4>
          <QuotesTable
            quotes={answer.quotes}
            caption="What each site quotes for the runs"
            now={new Date(preview.dataUpdatedAt || Date.now())}
            layout="cards"
          />
        </>
      )}
    </section>
  );
}
