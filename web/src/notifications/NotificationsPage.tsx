import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { subscriptionsQuery, type Subscription } from "../api/notifications";
import { caseListQuery } from "../api/queries";
import { Empty, ErrorMessage, Loading, Notice } from "../components/States";
import { usePageTitle } from "../lib/usePageTitle";
import { SecretPanel, type ShownSecret } from "./SecretPanel";
import { SubscriptionCard } from "./SubscriptionCard";
import { SubscriptionForm } from "./SubscriptionForm";
import "./notifications.css";

const CASES = { perPage: 100 };

/**
 * /settings/notifications: the user's webhook subscriptions (read again every 30 s while the page
 * is visible), each with its actions and deliveries; a form to add one; and, right after adding
 * or rotating, the signing secret, shown this once.
 */
export function NotificationsPage() {
  usePageTitle("Notifications");
  const subscriptions = useQuery(subscriptionsQuery());
  const cases = useQuery(caseListQuery(CASES));
  const caseTitles = useMemo(() => new Map((cases.data?.items ?? []).map((c) => [c.id, c.title])), [cases.data]);
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const deleted = (subscription: Subscription) => {
    if (secret?.subscription.id === subscription.id) setSecret(null);
    setNotice(`Deleted the subscription to ${subscription.url}.`);
  };

  return (
    <section className="page notifications-page">
      <header className="page-header">
        <div>
          <h1>Notifications</h1>
          <p className="lead">
            Webhooks: simgate POSTs a signed event to your own system when your jobs and sweeps change. To hear about one job
            in this browser instead, use “Notify me in this browser” on its page (<Link to="/jobs">your jobs</Link>).
          </p>
        </div>
      </header>

      {secret && <SecretPanel shown={secret} onDismiss={() => setSecret(null)} />}
      {notice && (
        <div className="notice-wrap">
          <Notice tone="success">
            {notice}{" "}
            <button type="button" className="link-button" onClick={() => setNotice(null)}>
              Dismiss
            </button>
          </Notice>
        </div>
      )}

      <section className="subscriptions" aria-labelledby="subscriptions-heading">
        <h2 id="subscriptions-heading">Your subscriptions</h2>
        <ErrorMessage
          title="Could not read your subscriptions"
          error={subscriptions.error}
          onRetry={() => void subscriptions.refetch()}
        />
        {subscriptions.isPending ? (
          <Loading what="Reading your subscriptions…" />
        ) : subscriptions.data?.length === 0 ? (
          <Empty title="No subscriptions yet">
            <p>Add one below: simgate then sends your job and sweep events to it.</p>
          </Empty>
        ) : (
          <ul className="subscription-list">
            {subscriptions.data?.map((subscription) => (
              <li key={subscription.id}>
                <SubscriptionCard
                  subscription={subscription}
                  caseTitle={subscription.case_id ? caseTitles.get(subscription.case_id) : undefined}
                  onRotated={(rotated) => {
                    setNotice(null);
                    setSecret({ subscription: rotated, reason: "rotated" });
                  }}
                  onDeleted={deleted}
                />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="panel add-subscription" aria-labelledby="add-heading">
        <h2 id="add-heading">Add a subscription</h2>
        <SubscriptionForm
          onCreated={(created) => {
            setNotice(null);
            setSecret({ subscription: created, reason: "created" });
          }}
        />
      </section>
    </section>
  );
}
