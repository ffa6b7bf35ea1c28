import { useEffect, useRef } from "react";

/**
 * Call `tick` every `intervalMs` while `enabled`, one call at a time (the next waits for the
 * previous to finish), and not while the tab is hidden: a background tab does not poll.
 */
export function usePolling(tick: (signal: AbortSignal) => Promise<unknown>, intervalMs: number, enabled: boolean): void {
  const tickRef = useRef(tick);
  tickRef.current = tick;

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;

    const schedule = () => {
      clearTimeout(timer);
      if (controller.signal.aborted) return;
      timer = setTimeout(run, intervalMs);
    };
    const run = async () => {
      if (document.visibilityState === "hidden") return; // resumed by the visibility listener
      try {
        await tickRef.current(controller.signal);
      } catch {
        // the next tick tries again; the page shows errors of its own loads
      }
      schedule();
    };
    const onVisible = () => {
      if (document.visibilityState === "visible") {
        clearTimeout(timer);
        void run();
      }
    };
    schedule();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      controller.abort();
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [enabled, intervalMs]);
}
