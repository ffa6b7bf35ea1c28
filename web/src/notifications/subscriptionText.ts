/**
 * How subscriptions and their deliveries read to people: statuses, events, outcomes, and which
 * input a 422's messages belong beside. Pure, so unit-tested.
 */
import type { DeliveryOutcome, EventName, Subscription } from "../api/notifications";
import type { ProblemFieldError } from "../api/types";
import { formatDateTime, formatSeconds } from "../lib/format";

/** A one-line explanation of each event, beside its checkbox. A new event fails the build until it has one. */
export const EVENT_MEANING: Record<EventName, string> = {
  "job.status_changed": "Every change of a job's status: submitted, queued, running, done…",
  "job.finished": "A job ended: done, failed or cancelled.",
  "job.progress": "A running job's progress, at most once a minute per job.",
  "sweep.finished": "Every run of a sweep has finished.",
};

/** What a new subscription asks for unless the user chooses otherwise. */
export const DEFAULT_EVENTS: readonly EventName[] = ["job.finished"];

export type SubscriptionState = "active" | "paused" | "disabled";

/** The API's word for a pause by the owner (PATCH enabled: false); anything else disabled it by itself. */
const PAUSED = /^paused\b/i;

export function subscriptionState(subscription: Pick<Subscription, "enabled" | "disabled_reason">): SubscriptionState {
  if (subscription.enabled) return "active";
  return PAUSED.test(subscription.disabled_reason.trim()) ? "paused" : "disabled";
}

export const STATE_LABEL: Record<SubscriptionState, string> = {
  active: "Active",
  paused: "Paused",
  disabled: "Disabled",
};

/** "Active", "Paused", or "Disabled: the endpoint answered 410 Gone at <local time>". */
export function subscriptionStatusText(subscription: Pick<Subscription, "enabled" | "disabled_reason">): string {
  const state = subscriptionState(subscription);
  if (state !== "disabled") return STATE_LABEL[state];
  const reason = localizeUtcTimes(subscription.disabled_reason.trim());
  return reason ? `${STATE_LABEL.disabled}: ${reason}` : STATE_LABEL.disabled;
}

const UTC_IN_TEXT = /\b(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC\b/g;

/** "… at 2026-11-23 08:44:47 UTC" (how the API words times in reasons) with the time in the user's locale. */
export function localizeUtcTimes(text: string): string {
  return text.replace(UTC_IN_TEXT, (whole, day: string, time: string) => {
    const at = new Date(`${day}T${time}Z`);
    return Number.isNaN(at.getTime()) ? whole : formatDateTime(at);
  });
}

export const OUTCOME_LABEL: Record<DeliveryOutcome, string> = {
  delivered: "Delivered",
  retrying: "Retrying",
  failed: "Failed",
};

/** The chip class of an outcome, sharing the job statuses' colours. */
export const OUTCOME_CHIP: Record<DeliveryOutcome, string> = {
  delivered: "chip-done",
  retrying: "chip-queued",
  failed: "chip-failed",
};

export const STATE_CHIP: Record<SubscriptionState, string> = {
  active: "chip-done",
  paused: "chip-draft",
  disabled: "chip-failed",
};

/** The error classes of failed attempts, in words (the API's own class is kept beside them). */
const ERROR_CLASS_MEANING: Record<string, string> = {
  refused_address: "address refused",
  dns: "name not found",
  connect: "could not connect",
  timeout: "timed out",
  tls: "TLS failed",
  redirect: "redirected (not followed)",
  http_status: "error status",
  gone: "410 Gone",
  rate_limited: "rate limited",
  unavailable: "unavailable",
};

export function describeErrorClass(errorClass: string | null): string {
  if (!errorClass) return "";
  return ERROR_CLASS_MEANING[errorClass] ?? errorClass.replace(/_/g, " ");
}

/** "12 ms", "1.2 s", "1 min 5 s". */
export function formatLatency(milliseconds: number): string {
  if (!Number.isFinite(milliseconds) || milliseconds < 0) return "—";
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(1)} s`;
  return formatSeconds(milliseconds / 1000);
}

/** "0de61b111046-8203372529056-c2c43abe" → "…c2c43abe": ids are long, their ends tell them apart. */
export const shortId = (id: string): string => (id.length > 12 ? `…${id.slice(-8)}` : id);

/** The inputs of the "Add a subscription" form, where a 422's messages are shown. */
export type SubscriptionInput = "url" | "events" | "case_id" | "description";

export interface PlacedErrors {
  byInput: Record<SubscriptionInput, string[]>;
  /** Errors of no input (or of one the form does not have): shown at the top of the form. */
  general: ProblemFieldError[];
}

const INPUTS: readonly SubscriptionInput[] = ["url", "events", "case_id", "description"];

/** Each message of a 422 beside its input: `url`, `events` (and `events[1]`), `case_id`, `description`. */
export function placeSubscriptionErrors(errors: readonly ProblemFieldError[]): PlacedErrors {
  const byInput: Record<SubscriptionInput, string[]> = { url: [], events: [], case_id: [], description: [] };
  const general: ProblemFieldError[] = [];
  for (const error of errors) {
    const head = (error.field ?? "").split(/[.[]/, 1)[0] as SubscriptionInput;
    if (INPUTS.includes(head)) byInput[head].push(error.message);
    else general.push(error);
  }
  return { byInput, general };
}

export const placedCount = (placed: PlacedErrors): number =>
  INPUTS.reduce((count, input) => count + placed.byInput[input].length, 0);
