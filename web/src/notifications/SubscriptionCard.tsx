import { useId, useState } from "react";
import { ApiError } from "../api/errors";
import {
  useChangeSubscription,
  useDeleteSubscription,
  useRotateSubscription,
  useTestSubscription,
  type Subscription,
  type SubscriptionWithSecret,
} from "../api/notifications";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { DateText } from "../components/DateText";
import { ErrorMessage } from "../components/States";
import { DeliveriesView } from "./DeliveriesView";
import { STATE_CHIP, STATE_LABEL, subscriptionState, subscriptionStatusText } from "./subscriptionText";

type Action = "test" | "pause" | "resume" | "rotate" | "delete";

const FAILED_TITLE: Record<Action, string> = {
  test: "Could not send a test",
  pause: "Could not pause it",
  resume: "Could not resume it",
  rotate: "Could not rotate the secret",
  delete: "Could not delete it",
};

/**
 * One subscription: its URL, events, filters, status (Active, Paused, or Disabled and why) and
 * since when it fails; Send test, Pause or Resume, Rotate secret and Delete (both confirmed); and
 * its deliveries, shown on demand (and at once after a test, so the ping shows up on its own).
 */
export function SubscriptionCard({
  subscription,
  caseTitle,
  onRotated,
  onDeleted,
}: {
  subscription: Subscription;
  caseTitle: string | undefined;
  onRotated: (rotated: SubscriptionWithSecret) => void;
  onDeleted: (subscription: Subscription) => void;
}) {
  const headingId = useId();
  const deliveriesId = useId();
  const deliveriesHeadingId = useId();
  const test = useTestSubscription();
  const change = useChangeSubscription();
  const rotate = useRotateSubscription();
  const remove = useDeleteSubscription();
  const [busy, setBusy] = useState<Action | null>(null);
  const [failed, setFailed] = useState<{ action: Action; error: unknown } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<"rotate" | "delete" | null>(null);
  const [open, setOpen] = useState(false);

  const state = subscriptionState(subscription);
  const id = subscription.id;

  const act = async (action: Action) => {
    setBusy(action);
    setFailed(null);
    setNotice(null);
    try {
      if (action === "test") {
        await test.mutateAsync(id);
        setOpen(true);
        setNotice("Test ping queued: its delivery shows below within seconds.");
      } else if (action === "pause" || action === "resume") {
        await change.mutateAsync({ subscriptionId: id, change: { enabled: action === "resume" } });
        setNotice(action === "pause" ? "Paused: events wait until you resume it." : "Resumed: what waited is being sent, in order.");
      } else if (action === "rotate") {
        const rotated = await rotate.mutateAsync(id);
        setConfirm(null);
        onRotated(rotated);
      } else {
        await remove.mutateAsync(id);
        setConfirm(null);
        onDeleted(subscription);
        return;
      }
    } catch (error) {
      setConfirm(null);
      setFailed({ action, error });
    }
    setBusy(null);
  };

  return (
    <article className="panel subscription" aria-labelledby={headingId} data-state={state}>
      <div className="subscription-head">
        <h3 id={headingId} className="subscription-url">
          {subscription.url}
        </h3>
        <span className={`chip ${STATE_CHIP[state]}`}>{STATE_LABEL[state]}</span>
      </div>
      {subscription.description && <p className="subscription-description">{subscription.description}</p>}
      {state === "disabled" && (
        <div className="alert alert-warning subscription-reason">
          <p>
            <strong>simgate stopped sending to it.</strong> Resume it when the endpoint works again: what waited is then
            sent, in order.
          </p>
        </div>
      )}

      <dl className="facts subscription-facts">
        <dt>Events</dt>
        <dd>
          <ul className="event-list">
            {subscription.events.map((event) => (
              <li key={event}>
                <code>{event}</code>
              </li>
            ))}
          </ul>
        </dd>
        {(subscription.case_id || subscription.sweep_id) && (
          <>
            <dt>Only</dt>
            <dd>
              {subscription.case_id && <>jobs of {caseTitle ?? subscription.case_id}</>}
              {subscription.case_id && subscription.sweep_id && ", "}
              {subscription.sweep_id && <>sweep {subscription.sweep_id}</>}
            </dd>
          </>
        )}
        <dt>Status</dt>
        <dd className="subscription-status">{subscriptionStatusText(subscription)}</dd>
        <dt>Failing since</dt>
        <dd>
          {subscription.failing_since ? (
            <span className="failing-since">
              <DateText value={subscription.failing_since} />
            </span>
          ) : (
            <span className="muted">not failing</span>
          )}
        </dd>
        {subscription.previous_secret_expires && (
          <>
            <dt>Old secret</dt>
            <dd>
              signs too until <DateText value={subscription.previous_secret_expires} />
            </dd>
          </>
        )}
        <dt>Added</dt>
        <dd>
          <DateText value={subscription.created} />
        </dd>
      </dl>

      <div className="button-row subscription-actions">
        <button
          type="button"
          className="button button-secondary button-small"
          aria-expanded={open}
          aria-controls={open ? deliveriesId : undefined}
          onClick={() => setOpen((now) => !now)}
        >
          Deliveries
        </button>
        <span className="spacer" />
        <button
          type="button"
          className="button button-secondary button-small"
          disabled={busy !== null || !subscription.enabled}
          title={subscription.enabled ? "POST a ping event to the URL" : "Resume it first"}
          onClick={() => void act("test")}
        >
          {busy === "test" ? "Sending…" : "Send test"}
        </button>
        {subscription.enabled ? (
          <button
            type="button"
            className="button button-secondary button-small"
            disabled={busy !== null}
            onClick={() => void act("pause")}
          >
            {busy === "pause" ? "Pausing…" : "Pause"}
          </button>
        ) : (
          <button
            type="button"
            className="button button-secondary button-small"
            disabled={busy !== null}
            onClick={() => void act("resume")}
          >
            {busy === "resume" ? "Resuming…" : "Resume"}
          </button>
        )}
        <button
          type="button"
          className="button button-secondary button-small"
          disabled={busy !== null}
          onClick={() => setConfirm("rotate")}
        >
          Rotate secret
        </button>
        <button
          type="button"
          className="button button-danger-ghost button-small"
          disabled={busy !== null}
          onClick={() => setConfirm("delete")}
        >
          Delete
        </button>
      </div>

      <p className="subscription-notice" role="status">
        {notice}
      </p>
      {failed && (
        <ErrorMessage
          title={FAILED_TITLE[failed.action]}
          error={failed.error}
          onRetry={isRetryable(failed.error) ? () => void act(failed.action) : undefined}
        />
      )}

      {open && <DeliveriesView subscriptionId={id} id={deliveriesId} headingId={deliveriesHeadingId} />}

      <ConfirmDialog
        open={confirm === "rotate"}
        title="Rotate the signing secret?"
        confirmLabel="Rotate secret"
        busy={busy === "rotate"}
        onConfirm={() => void act("rotate")}
        onCancel={() => setConfirm(null)}
      >
        <p>
          A new secret is made and shown once. The current one keeps signing beside it for 24 hours, so your receiver can
          switch without missing an event.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "delete"}
        title="Delete this subscription?"
        confirmLabel="Delete subscription"
        danger
        busy={busy === "delete"}
        onConfirm={() => void act("delete")}
        onCancel={() => setConfirm(null)}
      >
        <p>
          <span className="subscription-url">{subscription.url}</span> gets no more events. Its waiting events and its
          delivery log are deleted too.
        </p>
      </ConfirmDialog>
    </article>
  );
}

/** A refusal of the subscription's state (409: disabled) or a missing one is not worth trying again as is. */
function isRetryable(error: unknown): boolean {
  return !(error instanceof ApiError && error.kind === "problem" && [404, 409, 422].includes(error.status));
}
