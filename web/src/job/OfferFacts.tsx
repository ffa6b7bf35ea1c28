import type { ReactNode } from "react";
import type { Offer } from "../api/types";
import { formatDateTime, formatSeconds } from "../lib/format";
import { describeWaiting, formatLicenceUse, formatStartEstimate, licenceUse } from "../lib/sites";

/** One offer in figures: when it would start, how long a run takes, slots, licences and line, each with what it rests on. */
export function OfferFacts({ id, offer, now }: { id: string; offer: Offer; now: Date }) {
  const perUser = offer.limits.max_jobs_per_user;
  return (
    <dl id={id} className="offer-facts">
      <Fact label="Starts" basis={offer.start_basis}>
        {offer.estimated_start ? (
          <time dateTime={offer.estimated_start} title={formatDateTime(offer.estimated_start)}>
            {formatStartEstimate(offer.estimated_start, now)}
          </time>
        ) : (
          "unknown"
        )}
      </Fact>
      {offer.estimated_duration_s === null ? (
        <Fact label="Takes">{offer.basis || "no history"}</Fact>
      ) : (
        <Fact label="Takes" basis={offer.basis}>
          ~{formatSeconds(offer.estimated_duration_s)}
        </Fact>
      )}
      <Fact label="Slots" basis={perUser === null ? undefined : `up to ${perUser} per user`}>
        {offer.running}/{offer.limits.max_parallel_jobs} in use
      </Fact>
      <Fact label="Licences in use">{formatLicenceUse(licenceUse(offer.limits.licences, offer.licences_in_use))}</Fact>
      <Fact label="Line">{describeWaiting(offer.waiting)}</Fact>
    </dl>
  );
}

function Fact({ label, basis, children }: { label: string; basis?: string; children: ReactNode }) {
  return (
    <div className="offer-fact">
      <dt>{label}</dt>
      <dd>
        {children}
        {basis && <span className="offer-basis">{basis}</span>}
      </dd>
    </div>
  );
}
