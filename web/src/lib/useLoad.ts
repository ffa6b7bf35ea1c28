import { useCallback, useEffect, useRef, useState, type DependencyList } from "react";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  /** True from the first render with new `deps` until their answer arrives (data may be the previous one's). */
  loading: boolean;
  /** Load again (keeps showing the current data meanwhile). */
  reload: () => void;
  setData: (data: T) => void;
}

function sameDeps(a: DependencyList | null, b: DependencyList): boolean {
  return !!a && a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}

/** Load something when `deps` change; stale answers are dropped, the request aborted on unmount. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [settled, setSettled] = useState<DependencyList | null>(null);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    const forDeps = deps;
    setLoading(true);
    setError(null);
    loadRef
      .current(controller.signal)
      .then((value) => {
        if (!controller.signal.aborted) setData(value);
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setError(err);
      })
      .finally(() => {
        if (!controller.signal.aborted) {
          setLoading(false);
          setSettled(forDeps);
        }
      });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading: loading || !sameDeps(settled, deps), reload, setData };
}
