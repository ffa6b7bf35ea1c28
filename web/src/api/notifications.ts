/**
 * Notifications: the user's webhook subscriptions (signed as Standard Webhooks v1), their test
 * pings and delivery logs. One function per endpoint, the query options the settings page reads
 * (keys, polling) and the mutations it changes them with (and the reads each makes stale), in the
 * style of studies.ts, queries.ts and mutations.ts.
 */
import { queryOptions, useMutation, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { api, bodyOf } from "./http";
import { newSubscriptionEventsValues, type components } from "./schema";

type Schemas = components["schemas"];

// ---------------------------------------------------------------- types

/** GET /api/subscription/{id}: a subscription as its owner sees it (never its secret). */
export type Subscription = Schemas["SubscriptionInfo"];
/** POST /api/subscription and POST …/rotate: the subscription with its signing secret (`whsec_…`), shown this once. */
export type SubscriptionWithSecret = Schemas["SubscriptionSecret"];
/** The body of POST /api/subscription. */
export type NewSubscription = Schemas["NewSubscription"];
/** The body of PATCH /api/subscription/{id}: events, `enabled` (false pauses, true resumes), description. */
export type SubscriptionChange = Schemas["SubscriptionChange"];
/** An event a subscription can ask for. */
export type EventName = NewSubscription["events"][number];
/** One POST of one event to the subscriber (never the receiver's answer). */
export type DeliveryAttempt = Schemas["DeliveryAttempt"];
export type DeliveryOutcome = DeliveryAttempt["outcome"];
export type PingQueued = Schemas["PingQueued"];
export type RedeliveryQueued = Schemas["RedeliveryQueued"];

/** The events, in the document's order: a new one appears here with the next build. */
export const EVENT_NAMES: readonly EventName[] = newSubscriptionEventsValues;

// ---------------------------------------------------------------- calls

const onSubscription = (subscriptionId: string) => ({ path: { subscription_id: subscriptionId } });

/** The user's subscriptions, newest first. */
export async function listSubscriptions(signal?: AbortSignal): Promise<Subscription[]> {
  return bodyOf(await api.GET("/api/subscription", { signal }));
}

export async function getSubscription(subscriptionId: string, signal?: AbortSignal): Promise<Subscription> {
  return bodyOf(await api.GET("/api/subscription/{subscription_id}", { params: onSubscription(subscriptionId), signal }));
}

/** A new subscription and its secret. A refused URL (not https, a private address…) is a 422 on `url`. */
export async function createSubscription(subscription: NewSubscription): Promise<SubscriptionWithSecret> {
  return bodyOf(await api.POST("/api/subscription", { body: subscription }));
}

/** Change the events or description, pause (`enabled: false`) or resume (`enabled: true`: what waited is sent). */
export async function changeSubscription(subscriptionId: string, change: SubscriptionChange): Promise<Subscription> {
  return bodyOf(
    await api.PATCH("/api/subscription/{subscription_id}", { params: onSubscription(subscriptionId), body: change }),
  );
}

/** Delete a subscription, its pending events and its delivery log. */
export async function deleteSubscription(subscriptionId: string): Promise<void> {
  await api.DELETE("/api/subscription/{subscription_id}", { params: onSubscription(subscriptionId) });
}

/** A new secret; the old one keeps signing beside it for 24 hours. */
export async function rotateSubscription(subscriptionId: string): Promise<SubscriptionWithSecret> {
  return bodyOf(await api.POST("/api/subscription/{subscription_id}/rotate", { params: onSubscription(subscriptionId) }));
}

/** Queue a `ping` event to the subscription's URL: its attempts show in the deliveries. A disabled one is a 409. */
export async function testSubscription(subscriptionId: string): Promise<PingQueued> {
  return bodyOf(await api.POST("/api/subscription/{subscription_id}/test", { params: onSubscription(subscriptionId) }));
}

/** The latest delivery attempts, newest first. */
export async function listDeliveries(subscriptionId: string, limit?: number, signal?: AbortSignal): Promise<DeliveryAttempt[]> {
  return bodyOf(
    await api.GET("/api/subscription/{subscription_id}/deliveries", {
      params: { ...onSubscription(subscriptionId), query: { limit } },
      signal,
    }),
  );
}

/** Send one event again, with the same webhook-id. */
export async function redeliver(subscriptionId: string, deliveryId: string): Promise<RedeliveryQueued> {
  return bodyOf(
    await api.POST("/api/subscription/{subscription_id}/deliveries/{delivery_id}/redeliver", {
      params: { path: { subscription_id: subscriptionId, delivery_id: deliveryId } },
    }),
  );
}

// ---------------------------------------------------------------- reads

/** How often the list is read again while the page is visible: failures and disabling change it. */
export const SUBSCRIPTIONS_POLL_MS = 30_000;
/** How often an open delivery log is read again while the page is visible (a test ping shows up on its own). */
export const DELIVERIES_POLL_MS = 5_000;
/** How many attempts a delivery log shows. */
export const DELIVERIES_LIMIT = 50;

export const notificationKeys = {
  all: ["subscriptions"] as const,
  list: ["subscriptions", "list"] as const,
  subscription: (subscriptionId: string) => ["subscriptions", "detail", subscriptionId] as const,
  deliveries: (subscriptionId: string) => ["subscriptions", "deliveries", subscriptionId] as const,
};

/** The user's subscriptions: read again every 30 s while the page is visible, and when it shows again. */
export const subscriptionsQuery = () =>
  queryOptions({
    queryKey: notificationKeys.list,
    queryFn: ({ signal }) => listSubscriptions(signal),
    refetchInterval: SUBSCRIPTIONS_POLL_MS,
    refetchIntervalInBackground: false,
    refetchOnWindowFocus: true,
  });

export const subscriptionQuery = (subscriptionId: string) =>
  queryOptions({
    queryKey: notificationKeys.subscription(subscriptionId),
    queryFn: ({ signal }) => getSubscription(subscriptionId, signal),
  });

/**
 * A subscription's latest attempts: read again every 5 s while it is shown and the page is
 * visible, none while it is hidden, and at once when it shows again.
 */
export const deliveriesQuery = (subscriptionId: string, limit = DELIVERIES_LIMIT) =>
  queryOptions({
    queryKey: notificationKeys.deliveries(subscriptionId),
    queryFn: ({ signal }) => listDeliveries(subscriptionId, limit, signal),
    refetchInterval: DELIVERIES_POLL_MS,
    refetchIntervalInBackground: false,
    refetchOnWindowFocus: true,
  });

// ---------------------------------------------------------------- changes

/** A subscription as the API now has it, written into the list and its own entry. */
function keep(client: QueryClient, changed: Subscription): void {
  client.setQueryData<Subscription[]>(notificationKeys.list, (list) =>
    list?.map((subscription) => (subscription.id === changed.id ? changed : subscription)),
  );
  client.setQueryData(notificationKeys.subscription(changed.id), changed);
}

/** Only what the API shows of a subscription: a secret is kept out of the cache. */
function withoutSecret({ secret: _secret, ...subscription }: SubscriptionWithSecret): Subscription {
  return subscription;
}

/** A new subscription: put at the head of the list (newest first), which is then read again. */
export function useCreateSubscription() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (subscription: NewSubscription) => createSubscription(subscription),
    onSuccess: (created) => {
      client.setQueryData<Subscription[]>(notificationKeys.list, (list) => [withoutSecret(created), ...(list ?? [])]);
      void client.invalidateQueries({ queryKey: notificationKeys.list });
    },
  });
}

/** Pause, resume or change a subscription. */
export function useChangeSubscription() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ subscriptionId, change }: { subscriptionId: string; change: SubscriptionChange }) =>
      changeSubscription(subscriptionId, change),
    onSuccess: (changed) => keep(client, changed),
    onSettled: () => void client.invalidateQueries({ queryKey: notificationKeys.list }),
  });
}

/** Delete a subscription: gone from the list at once, with its log. */
export function useDeleteSubscription() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (subscriptionId: string) => deleteSubscription(subscriptionId),
    onSuccess: (_answer, subscriptionId) => {
      client.setQueryData<Subscription[]>(notificationKeys.list, (list) => list?.filter((s) => s.id !== subscriptionId));
      client.removeQueries({ queryKey: notificationKeys.subscription(subscriptionId) });
      client.removeQueries({ queryKey: notificationKeys.deliveries(subscriptionId) });
    },
    onSettled: () => void client.invalidateQueries({ queryKey: notificationKeys.list }),
  });
}

/** A new secret (returned once); the subscription now tells until when the old one still signs. */
export function useRotateSubscription() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (subscriptionId: string) => rotateSubscription(subscriptionId),
    onSuccess: (rotated) => keep(client, withoutSecret(rotated)),
  });
}

/** A test ping, queued: the delivery log is read again (and keeps being read while it is shown). */
export function useTestSubscription() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (subscriptionId: string) => testSubscription(subscriptionId),
    onSettled: (_answer, _error, subscriptionId) => {
      void client.invalidateQueries({ queryKey: notificationKeys.deliveries(subscriptionId) });
      void client.invalidateQueries({ queryKey: notificationKeys.list });
    },
  });
}

/** One event sent again: the delivery log is read again. */
export function useRedeliver() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ subscriptionId, deliveryId }: { subscriptionId: string; deliveryId: string }) =>
      redeliver(subscriptionId, deliveryId),
    onSettled: (_answer, _error, { subscriptionId }) => {
      void client.invalidateQueries({ queryKey: notificationKeys.deliveries(subscriptionId) });
    },
  });
}
