import type { ReactNode } from "react";
import type { UseQueryResult } from "@tanstack/react-query";
import type { Page } from "../api/types";
import { Pager } from "./Pager";
import { ErrorMessage, Loading } from "./States";

/**
 * The shell of a paged list (the cases, the jobs): its error, its first load, what to show when
 * it is empty, a live line counting what is shown, the rows (dimmed while other filters or another
 * page load) and the pager. A failed refresh of a list on screen stays quiet: the next one tries again.
 */
export function PagedList<T>({
  query,
  page,
  errorTitle,
  loadingText,
  pagerLabel,
  status,
  empty,
  children,
}: {
  query: UseQueryResult<Page<T>>;
  page: number;
  errorTitle: string;
  loadingText: string;
  pagerLabel: string;
  /** The line that says what is shown (announced politely), or null for none. */
  status: (data: Page<T>, updating: boolean) => string | null;
  /** What to show instead of the rows, when there are none to show. */
  empty: (data: Page<T>) => ReactNode;
  children: (data: Page<T>) => ReactNode;
}) {
  const { data, error, isPlaceholderData: updating } = query;
  if (!data) {
    return error ? (
      <ErrorMessage title={errorTitle} error={error} onRetry={() => void query.refetch()} />
    ) : (
      <Loading what={loadingText} />
    );
  }
  const line = status(data, updating);
  const instead = empty(data);
  return (
    <>
      {line !== null && (
        <p className="result-count" role="status" aria-live="polite">
          {line}
        </p>
      )}
      {instead ?? (
        <div className={updating ? "is-loading" : undefined} aria-busy={updating}>
          {children(data)}
        </div>
      )}
      {data.items.length > 0 && (
        <Pager page={page} hasPrev={data.hasPrev} hasNext={data.hasNext} label={pagerLabel} />
      )}
    </>
  );
}
