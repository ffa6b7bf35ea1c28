import { useMemo, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { ApiError } from "../api/errors";
import { EVENT_NAMES, useCreateSubscription, type EventName, type SubscriptionWithSecret } from "../api/notifications";
import { caseListQuery } from "../api/queries";
import { FormErrors } from "../job/FormErrors";
import { asSentence } from "../lib/format";
import { DEFAULT_EVENTS, EVENT_MEANING, placeSubscriptionErrors, placedCount } from "./subscriptionText";

const CASES = { perPage: 100 };
const MAX_DESCRIPTION = 200;

interface Draft {
  url: string;
  events: EventName[];
  caseId: string;
  description: string;
}

const emptyDraft = (): Draft => ({ url: "", events: [...DEFAULT_EVENTS], caseId: "", description: "" });

/** Messages beside an input, and the ids its aria-describedby names. */
function FieldError({ id, messages }: { id: string; messages: string[] }) {
  if (!messages.length) return null;
  return (
    <p id={id} className="field-error">
      {messages.map((m) => asSentence(m)).join(" ")}
    </p>
  );
}

const describedBy = (errorId: string, messages: string[], hintId?: string) =>
  [messages.length ? errorId : null, hintId].filter(Boolean).join(" ") || undefined;

/**
 * "Add a subscription": the URL, the events (job.finished unless chosen otherwise), an optional
 * case and a description. The API judges the URL (https, public addresses only): a refusal is
 * shown beside it, as every 422 message is beside its input. On success the form starts afresh
 * and the page shows the new secret.
 */
export function SubscriptionForm({ onCreated }: { onCreated: (created: SubscriptionWithSecret) => void }) {
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [error, setError] = useState<unknown>(null);
  const create = useCreateSubscription();
  const cases = useQuery(caseListQuery(CASES));
  const busy = create.isPending;

  const placed = useMemo(() => placeSubscriptionErrors(error instanceof ApiError ? error.fieldErrors : []), [error]);
  const { url: urlErrors, events: eventErrors, case_id: caseErrors, description: descriptionErrors } = placed.byInput;

  // A change starts afresh: the refusal was of what was sent.
  const edit = (change: Partial<Draft>) => {
    setError(null);
    setDraft((current) => ({ ...current, ...change }));
  };
  const toggleEvent = (event: EventName, on: boolean) => {
    setError(null);
    setDraft((current) => ({
      ...current,
      // In the document's order, whatever the order of the clicks.
      events: EVENT_NAMES.filter((name) => (name === event ? on : current.events.includes(name))),
    }));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const created = await create.mutateAsync({
        url: draft.url.trim(),
        events: draft.events,
        case_id: draft.caseId || null,
        description: draft.description.trim(),
      });
      setDraft(emptyDraft());
      onCreated(created);
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <form className="form subscription-form" noValidate onSubmit={submit} aria-labelledby="add-heading">
      <FormErrors error={error} general={placed.general} fieldCount={placedCount(placed)} />

      <div className={`form-row${urlErrors.length ? " form-row-invalid" : ""}`}>
        <label htmlFor="subscription-url" className="label">
          URL
        </label>
        <div className="form-control form-control-wide">
          <input
            id="subscription-url"
            className="input"
            type="url"
            inputMode="url"
            required
            maxLength={2000}
            autoComplete="off"
            spellCheck={false}
            placeholder="https://hooks.example.org/simgate"
            value={draft.url}
            disabled={busy}
            aria-invalid={urlErrors.length ? true : undefined}
            aria-describedby={describedBy("subscription-url-error", urlErrors, "subscription-url-hint")}
            onChange={(e) => edit({ url: e.target.value })}
          />
          <FieldError id="subscription-url-error" messages={urlErrors} />
          <p id="subscription-url-hint" className="hint">
            Where simgate POSTs the events: an https address on the public internet.
          </p>
        </div>
      </div>

      <div
        className={`form-row${eventErrors.length ? " form-row-invalid" : ""}`}
        role="group"
        aria-labelledby="subscription-events-label"
        aria-describedby={eventErrors.length ? "subscription-events-error" : undefined}
      >
        <span id="subscription-events-label" className="label">
          Events
        </span>
        <div className="form-control form-control-wide">
          <ul className="event-choices">
            {EVENT_NAMES.map((name) => {
              const id = `subscription-event-${name.replace(/\W/g, "-")}`;
              return (
                <li key={name} className="event-choice">
                  <input
                    id={id}
                    type="checkbox"
                    className="checkbox"
                    checked={draft.events.includes(name)}
                    disabled={busy}
                    aria-describedby={`${id}-meaning`}
                    onChange={(e) => toggleEvent(name, e.target.checked)}
                  />
                  <span>
                    <label htmlFor={id}>
                      <code>{name}</code>
                    </label>
                    <span id={`${id}-meaning`} className="hint">
                      {EVENT_MEANING[name]}
                    </span>
                  </span>
                </li>
              );
            })}
          </ul>
          <FieldError id="subscription-events-error" messages={eventErrors} />
        </div>
      </div>

      <div className={`form-row${caseErrors.length ? " form-row-invalid" : ""}`}>
        <label htmlFor="subscription-case" className="label">
          Case <span className="optional">(optional)</span>
        </label>
        <div className="form-control">
          <select
            id="subscription-case"
            className="input"
            value={draft.caseId}
            disabled={busy}
            aria-invalid={caseErrors.length ? true : undefined}
            aria-describedby={describedBy("subscription-case-error", caseErrors, "subscription-case-hint")}
            onChange={(e) => edit({ caseId: e.target.value })}
          >
            <option value="">Any case</option>
            {cases.data?.items.map((c) => (
              <option key={c.id} value={c.id}>
                {c.title}
              </option>
            ))}
          </select>
          <FieldError id="subscription-case-error" messages={caseErrors} />
          <p id="subscription-case-hint" className="hint">
            {cases.error ? "The cases could not be read: events of every case are sent." : "Only the events of this case's jobs and sweeps."}
          </p>
        </div>
      </div>

      <div className={`form-row${descriptionErrors.length ? " form-row-invalid" : ""}`}>
        <label htmlFor="subscription-description" className="label">
          Description <span className="optional">(optional)</span>
        </label>
        <div className="form-control form-control-wide">
          <input
            id="subscription-description"
            className="input"
            type="text"
            maxLength={MAX_DESCRIPTION}
            autoComplete="off"
            placeholder="e.g. Team chat bot"
            value={draft.description}
            disabled={busy}
            aria-invalid={descriptionErrors.length ? true : undefined}
            aria-describedby={describedBy("subscription-description-error", descriptionErrors, "subscription-description-hint")}
            onChange={(e) => edit({ description: e.target.value })}
          />
          <FieldError id="subscription-description-error" messages={descriptionErrors} />
          <p id="subscription-description-hint" className="hint">
            For you: shown in the list.
          </p>
        </div>
      </div>

      <div className="form-actions">
        <span className="spacer" />
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Adding…" : "Add subscription"}
        </button>
      </div>
    </form>
  );
}
