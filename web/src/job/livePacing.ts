/**
 * How often a page following a job asks for a live look: every 4 s, every 1 s while a stream it
 * shows has more than it read, never more than 20 looks in any minute (so that with the few other
 * reads of the job page it stays within 30 requests a minute), nothing while the page is hidden
 * (the query is disabled then), and errors backing off from 2 s to a minute.
 */

export const LIVE_PACE = {
  everyMs: 4_000,
  catchUpMs: 1_000,
  perWindow: 20,
  windowMs: 60_000,
  maxBackoffMs: 60_000,
} as const;

/** The live looks a page sent lately, to keep within LIVE_PACE.perWindow a minute. */
export class Pacer {
  private sent: number[] = [];

  constructor(private readonly pace: { perWindow: number; windowMs: number } = LIVE_PACE) {}

  /** A look is being sent now. */
  note(now = Date.now()): void {
    this.forget(now);
    this.sent.push(now);
  }

  /** How many looks were sent in the window before `now`. */
  count(now = Date.now()): number {
    this.forget(now);
    return this.sent.length;
  }

  /** How long until one more look fits in the window: 0 when it does now. */
  wait(now = Date.now()): number {
    this.forget(now);
    if (this.sent.length < this.pace.perWindow) return 0;
    return this.sent[this.sent.length - this.pace.perWindow] + this.pace.windowMs - now;
  }

  private forget(now: number): void {
    const since = now - this.pace.windowMs;
    let drop = 0;
    while (drop < this.sent.length && this.sent[drop] <= since) drop += 1;
    if (drop) this.sent = this.sent.slice(drop);
  }
}

/** The delay before the next look (false: none, the run is over and read to its end). */
export function pollDelay(
  pacer: Pacer,
  { following, behind }: { following: boolean; behind: boolean },
  now = Date.now(),
): number | false {
  if (!following) return false;
  const wanted = behind ? LIVE_PACE.catchUpMs : LIVE_PACE.everyMs;
  return Math.max(wanted, pacer.wait(now));
}

/** The delay before trying again after `failures` failed looks in a row: 2 s, 4 s, ... a minute. */
export function retryDelay(pacer: Pacer, failures: number, now = Date.now()): number {
  return Math.max(Math.min(LIVE_PACE.maxBackoffMs, 2_000 * 2 ** failures), pacer.wait(now));
}
