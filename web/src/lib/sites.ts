import type { Licences, Offer } from "../api/types";

/** An estimated start less than this far ahead (or past) is "now". */
const NOW_MS = 60_000;

/** When a site would start a job, as people say it: "now", "in ~12 min", "in ~3 h", "in ~2 days" or "unknown". */
export function formatStartEstimate(start: string | null | undefined, now: Date = new Date()): string {
  const at = start ? Date.parse(start) : Number.NaN;
  if (Number.isNaN(at)) return "unknown";
  const ahead = at - now.getTime();
  if (ahead < NOW_MS) return "now";
  const minutes = Math.round(ahead / 60_000);
  if (minutes < 90) return `in ~${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 36) return `in ~${hours} h`;
  return `in ~${Math.round(hours / 24)} days`;
}

export interface LicenceUse {
  name: string;
  used: number;
  total: number;
}

/** Each licence a site has (and any still in use that it no longer has), by name, with how many are in use. */
export function licenceUse(total: Licences, inUse: Licences): LicenceUse[] {
  const names = [...new Set([...Object.keys(total), ...Object.keys(inUse)])].sort();
  return names.map((name) => ({ name, used: inUse[name] ?? 0, total: total[name] ?? 0 }));
}

/** "solver 1/2, mesher 0/1"; "none" for a site without licences. */
export function formatLicenceUse(uses: LicenceUse[]): string {
  return uses.length ? uses.map((use) => `${use.name} ${use.used}/${use.total}`).join(", ") : "none";
}

const listWords = new Intl.ListFormat("en", { type: "conjunction" });

/** What one run holds while it is on its site: "Each run holds 1 solver licence"; null when nothing. */
export function describeLicenceNeed(licences: Licences): string | null {
  const held = Object.entries(licences)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${count} ${name} ${count === 1 ? "licence" : "licences"}`);
  return held.length ? `Each run holds ${listWords.format(held)}` : null;
}

/** "no one waiting", "1 waiting", "3 waiting"; with `others`, "1 other job waiting". */
export function describeWaiting(count: number, { others = false }: { others?: boolean } = {}): string {
  if (count === 0) return others ? "no other job waiting" : "no one waiting";
  if (!others) return `${count} waiting`;
  return `${count} other ${count === 1 ? "job" : "jobs"} waiting`;
}

/**
 * The offer a run without a choice goes to, as the API picks it: the only one there is, or of those
 * available the one that starts soonest (unknown starts last), then the shortest line, then the least busy.
 */
export function soonestOffer(offers: Offer[]): Offer | null {
  if (offers.length === 1) return offers[0];
  const startOf = (offer: Offer) => (offer.estimated_start ? Date.parse(offer.estimated_start) : Number.POSITIVE_INFINITY);
  const sooner = (a: Offer, b: Offer) => startOf(a) - startOf(b) || a.waiting - b.waiting || a.running - b.running;
  return offers.filter((offer) => offer.available).reduce<Offer | null>((best, offer) => (best && sooner(best, offer) <= 0 ? best : offer), null);
}
