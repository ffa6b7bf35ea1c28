import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { deliveriesQuery, useRedeliver, type DeliveryAttempt } from "../api/notifications";
import { DateText } from "../components/DateText";
import { Empty, ErrorMessage, Loading } from "../components/States";
import { formatDateTime } from "../lib/format";
import { useDocumentVisible } from "../lib/useDocumentVisible";
import {
  OUTCOME_CHIP,
  OUTCOME_LABEL,
  describeErrorClass,
  formatLatency,
  shortId,
} from "./subscriptionText";

/**
 * A subscription's latest delivery attempts, newest first, read again every 5 s while shown and
 * the page is visible: when, which event (and its job or sweep), its sequence and attempt, the
 * receiver's status code, latency, outcome, error and next attempt; each can be sent again.
 */
export function DeliveriesView({ subscriptionId, id, headingId }: { subscriptionId: string; id: string; headingId: string }) {
  const visible = useDocumentVisible();
  const deliveries = useQuery(deliveriesQuery(subscriptionId));
  const redeliver = useRedeliver();
  const [queued, setQueued] = useState<{ key: string; error?: unknown } | null>(null);

  const send = async (attempt: DeliveryAttempt) => {
    const key = attemptKey(attempt);
    try {
      await redeliver.mutateAsync({ subscriptionId, deliveryId: attempt.delivery_id });
      setQueued({ key });
    } catch (error) {
      setQueued({ key, error });
    }
  };

  return (
    <section id={id} className="deliveries" aria-labelledby={headingId}>
      <div className="panel-head deliveries-head">
        <h4 id={headingId}>Deliveries</h4>
        {deliveries.data && (
          <span className="muted small">
            {visible ? (
              <>
                Read <DateText value={new Date(deliveries.dataUpdatedAt).toISOString()} relative />; again every 5 s.
              </>
            ) : (
              "Paused while this page is hidden."
            )}
          </span>
        )}
      </div>
      <ErrorMessage title="Could not read the deliveries" error={deliveries.error} onRetry={() => void deliveries.refetch()} />
      {queued?.error != null && <ErrorMessage title="Could not send it again" error={queued.error} />}
      {deliveries.isPending ? (
        <Loading what="Reading the deliveries…" />
      ) : deliveries.data?.length === 0 ? (
        <Empty title="Nothing sent yet">
          <p>Send a test, or wait for one of your jobs to change: each attempt shows here.</p>
        </Empty>
      ) : deliveries.data ? (
        <div className="table-wrap">
          <table className="table table-stack table-compact deliveries-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Job</th>
                <th scope="col" className="num">
                  <abbr title="Sequence">Seq.</abbr>
                </th>
                <th scope="col" className="num">
                  Attempt
                </th>
                <th scope="col" className="num">
                  Status
                </th>
                <th scope="col" className="num">
                  Latency
                </th>
                <th scope="col">Outcome</th>
                <th scope="col">Error</th>
                <th scope="col">Next attempt</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {deliveries.data.map((attempt) => {
                const key = attemptKey(attempt);
                return (
                  <tr key={key} data-outcome={attempt.outcome} data-event={attempt.event}>
                    <th scope="row" data-label="Time">
                      <time dateTime={attempt.at}>{formatDateTime(attempt.at)}</time>
                    </th>
                    <td data-label="Event">
                      <span className="delivery-event">
                        <code>{attempt.event}</code>
                        {attempt.redelivery && <span className="muted small">redelivery</span>}
                      </span>
                    </td>
                    <td data-label="Job">
                      <Subject attempt={attempt} />
                    </td>
                    <td data-label="Sequence" className="num">
                      {attempt.sequence}
                    </td>
                    <td data-label="Attempt" className="num">
                      {attempt.attempt}
                    </td>
                    <td data-label="Status" className="num" data-status-code={attempt.status_code ?? ""}>
                      {attempt.status_code ?? <span className="muted">—</span>}
                    </td>
                    <td data-label="Latency" className="num">
                      {formatLatency(attempt.latency_ms)}
                    </td>
                    <td data-label="Outcome">
                      <span className={`chip ${OUTCOME_CHIP[attempt.outcome]}`}>{OUTCOME_LABEL[attempt.outcome]}</span>
                    </td>
                    <td data-label="Error">
                      {attempt.error_class ? (
                        <span className="delivery-error">
                          <code>{attempt.error_class}</code>
                          <span className="small">{attempt.error || describeErrorClass(attempt.error_class)}</span>
                        </span>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td data-label="Next attempt">
                      {attempt.next_attempt ? <DateText value={attempt.next_attempt} /> : <span className="muted">—</span>}
                    </td>
                    <td className="actions">
                      <button
                        type="button"
                        className="button button-secondary button-small"
                        disabled={redeliver.isPending}
                        onClick={() => void send(attempt)}
                      >
                        Redeliver<span className="visually-hidden"> {attempt.event} {attempt.sequence}</span>
                      </button>
                      {queued?.key === key && !queued.error && (
                        <span className="muted small redeliver-queued" role="status">
                          Queued again
                        </span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

const attemptKey = (attempt: DeliveryAttempt) => `${attempt.delivery_id}.${attempt.attempt}.${attempt.at}`;

/** The job or sweep an event was about; a ping is about neither. */
function Subject({ attempt }: { attempt: DeliveryAttempt }) {
  if (attempt.job_id) {
    return (
      <Link to={`/jobs/${encodeURIComponent(attempt.job_id)}`} className="delivery-subject" title={attempt.job_id}>
        {shortId(attempt.job_id)}
      </Link>
    );
  }
  if (attempt.sweep_id) {
    return (
      <Link to={`/sweeps/${encodeURIComponent(attempt.sweep_id)}`} className="delivery-subject" title={attempt.sweep_id}>
        sweep {shortId(attempt.sweep_id)}
      </Link>
    );
  }
  return <span className="muted">—</span>;
}
