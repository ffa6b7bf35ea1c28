import { useState } from "react";
import { useQuery, type UseQueryResult } from "@tanstack/react-query";
import { offersQuery } from "../api/queries";
import type { JobOffers, Licences, Offer } from "../api/types";
import { ErrorMessage, Loading, Notice } from "../components/States";
import { asSentence } from "../lib/format";
import { describeLicenceNeed, formatStartEstimate, soonestOffer } from "../lib/sites";
import { OfferFacts } from "./OfferFacts";

export interface OfferChoiceState {
  offers: UseQueryResult<JobOffers>;
  /** The site Run asks for; null: the offer that starts soonest. */
  picked: string | null;
  choose: (simulator: string | null) => void;
}

/** A draft's offers and the one the user picked; a pick that can no longer take the job falls back to the soonest. */
export function useOfferChoice(jobId: string): OfferChoiceState {
  const offers = useQuery(offersQuery(jobId));
  const [chosen, choose] = useState<string | null>(null);
  const stillOffered = offers.data?.offers.some((offer) => offer.simulator === chosen && offer.available) ?? false;
  return { offers, picked: stillOffered ? chosen : null, choose };
}

const ERROR_ID = "field-simulator-error";

/**
 * "Where it runs": Soonest (automatic), or one of the sites the job's case may use, each with when it
 * would start the job, how long a run takes there, and how busy it is. A site that cannot take the
 * job is shown greyed with its reason. The API's objection to a choice is shown beside it.
 */
export function OfferChoice({
  choice,
  licences,
  errors,
  disabled,
}: {
  choice: OfferChoiceState;
  /** What one run of the case holds. */
  licences: Licences | undefined;
  errors: string[] | undefined;
  disabled?: boolean;
}) {
  const { offers, picked, choose } = choice;
  const list = offers.data?.offers ?? [];
  const now = new Date(offers.dataUpdatedAt || Date.now());
  const need = licences ? describeLicenceNeed(licences) : null;
  const invalid = !!errors?.length;

  return (
    <section className="offer-choice" aria-labelledby="offers-heading">
      <div className="panel-head">
        <h2 id="offers-heading">Where it runs</h2>
        {need && <span className="muted small">{need}.</span>}
      </div>
      {invalid && (
        <p id={ERROR_ID} className="field-error">
          {errors!.map((message, i) => (
            <span key={i}>{asSentence(message)} </span>
          ))}
        </p>
      )}
      <div
        role="radiogroup"
        aria-labelledby="offers-heading"
        aria-describedby={invalid ? ERROR_ID : undefined}
        aria-invalid={invalid || undefined}
        className="offers"
      >
        <SoonestOption offers={list} now={now} checked={picked === null} disabled={disabled} onChoose={() => choose(null)} />
        {list.map((offer, index) => (
          <OfferOption
            key={offer.simulator}
            id={`offer-${index}`}
            offer={offer}
            now={now}
            checked={picked === offer.simulator}
            disabled={disabled}
            onChoose={() => choose(offer.simulator)}
          />
        ))}
      </div>
      {offers.isPending ? (
        <Loading what="Asking the simulators…" />
      ) : offers.data && list.length === 0 ? (
        <Notice tone="warning">No simulator may run this case: it cannot start until an admin configures one.</Notice>
      ) : null}
      <ErrorMessage title="Could not read where it could run" error={offers.error} onRetry={() => void offers.refetch()} />
      <p className="hint">Estimates are read again every 30 seconds while this page is open.</p>
    </section>
  );
}

function SoonestOption({
  offers,
  now,
  checked,
  disabled,
  onChoose,
}: {
  offers: Offer[];
  now: Date;
  checked: boolean;
  disabled?: boolean;
  onChoose: () => void;
}) {
  const soonest = soonestOffer(offers);
  const start = soonest ? formatStartEstimate(soonest.estimated_start, now) : null;
  return (
    <div className={`offer${checked ? " offer-checked" : ""}`}>
      <input
        type="radio"
        className="radio"
        id="offer-soonest"
        name="simulator"
        value=""
        checked={checked}
        disabled={disabled}
        aria-describedby="offer-soonest-hint"
        onChange={onChoose}
      />
      <div className="offer-body">
        <label htmlFor="offer-soonest" className="offer-name">
          Soonest (automatic)
        </label>
        <p id="offer-soonest-hint" className="offer-note">
          {soonest
            ? `Right now that is ${soonest.simulator}, ${start === "unknown" ? "start unknown" : `starting ${start}`}.`
            : "The job goes to the site that can start it first."}
        </p>
      </div>
    </div>
  );
}

function OfferOption({
  id,
  offer,
  now,
  checked,
  disabled,
  onChoose,
}: {
  id: string;
  offer: Offer;
  now: Date;
  checked: boolean;
  disabled?: boolean;
  onChoose: () => void;
}) {
  const unavailable = !offer.available;
  const classes = ["offer", checked && "offer-checked", unavailable && "offer-unavailable"].filter(Boolean).join(" ");
  return (
    <div className={classes}>
      <input
        type="radio"
        className="radio"
        id={id}
        name="simulator"
        value={offer.simulator}
        checked={checked}
        disabled={disabled || unavailable}
        aria-describedby={`${id}-facts${unavailable ? ` ${id}-reason` : ""}`}
        onChange={onChoose}
      />
      <div className="offer-body">
        <label htmlFor={id} className="offer-name">
          {offer.simulator} <span className="scheduler">{offer.scheduler}</span>
        </label>
        {unavailable && (
          <p id={`${id}-reason`} className="offer-reason">
            Cannot take it: {offer.reason ?? "no reason given"}
          </p>
        )}
        <OfferFacts id={`${id}-facts`} offer={offer} now={now} />
      </div>
    </div>
  );
}
