import type { Quote } from "../api/types";
import { formatDateTime, formatSeconds } from "../lib/format";
import { formatStartEstimate } from "../lib/sites";

/**
 * What each site quotes for the runs: whether it can take them (and why not), when it would start
 * the first, and when the last would finish, each with what the estimate rests on.
 */
export function QuotesTable({
  quotes,
  caption,
  now,
  layout = "table",
}: {
  quotes: Quote[];
  caption: string;
  now: Date;
  /** "cards": one small card per site, for a narrow column. */
  layout?: "table" | "cards";
}) {
  if (!quotes.length) {
    return <p className="muted">No simulator may run this case: nothing can start until an admin configures one.</p>;
  }
  if (layout === "cards") {
    return (
      <ul className="quote-cards" aria-label={caption}>
        {quotes.map((quote) => (
          <li key={quote.simulator} className={`quote-card${quote.available ? "" : " quote-unavailable"}`}>
            <p className="quote-card-head">
              <strong>{quote.simulator}</strong> <span className="scheduler">{quote.scheduler}</span>
              {quote.available ? (
                <span className="quote-yes">can take {quote.runs === 1 ? "it" : "them"}</span>
              ) : (
                <span className="quote-no">cannot take {quote.runs === 1 ? "it" : "them"}</span>
              )}
            </p>
            {!quote.available && <p className="quote-no quote-reason">{quote.reason ?? "no reason given"}</p>}
            <dl className="quote-facts">
              <dt>Starts</dt>
              <dd>
                <Estimate at={quote.estimated_start} now={now} basis={quote.start_basis} soon="now" />
              </dd>
              <dt>{quote.runs === 1 ? "Finishes" : "All finished"}</dt>
              <dd>
                <Estimate at={quote.estimated_finish} now={now} basis={quote.finish_basis} soon="within a minute" />
              </dd>
              {quote.estimated_duration_s !== null && (
                <>
                  <dt>Each run</dt>
                  <dd>~{formatSeconds(quote.estimated_duration_s)}</dd>
                </>
              )}
            </dl>
          </li>
        ))}
      </ul>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table table-stack quotes-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Site</th>
            <th scope="col">Can take it</th>
            <th scope="col">Estimated start</th>
            <th scope="col">Estimated finish</th>
          </tr>
        </thead>
        <tbody>
          {quotes.map((quote) => (
            <tr key={quote.simulator} className={quote.available ? undefined : "quote-unavailable"}>
              <th scope="row">
                {quote.simulator} <span className="scheduler">{quote.scheduler}</span>
              </th>
              <td data-label="Can take it">
                {quote.available ? (
                  <span className="quote-yes">Yes</span>
                ) : (
                  <span className="quote-no">No: {quote.reason ?? "no reason given"}</span>
                )}
              </td>
              <td data-label="Estimated start">
                <Estimate at={quote.estimated_start} now={now} basis={quote.start_basis} soon="now" />
              </td>
              <td data-label="Estimated finish">
                <span className="quote-cell">
                  <Estimate at={quote.estimated_finish} now={now} basis={quote.finish_basis} soon="within a minute" />
                  {quote.estimated_duration_s !== null && (
                    <span className="quote-basis">each run ~{formatSeconds(quote.estimated_duration_s)}</span>
                  )}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** An estimated time as people say it ("in ~12 min"), the date on hover, and what it rests on. */
function Estimate({ at, now, basis, soon }: { at: string | null; now: Date; basis: string; soon: string }) {
  const words = at ? formatStartEstimate(at, now) : "unknown";
  return (
    <span className="quote-estimate">
      {at ? (
        <time dateTime={at} title={formatDateTime(at)}>
          {words === "now" ? soon : words}
        </time>
      ) : (
        <span>unknown</span>
      )}
      {basis && <span className="quote-basis">{basis}</span>}
    </span>
  );
}
