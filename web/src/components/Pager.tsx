import { Link, useLocation } from "react-router";

/** Previous / next links that keep the rest of the URL query (filters). */
export function Pager({
  page,
  hasPrev,
  hasNext,
  label,
}: {
  page: number;
  hasPrev: boolean;
  hasNext: boolean;
  label: string;
}) {
  const location = useLocation();
  if (!hasPrev && !hasNext) return null;
  const to = (target: number) => {
    const params = new URLSearchParams(location.search);
    if (target <= 1) params.delete("page");
    else params.set("page", String(target));
    const query = params.toString();
    return `${location.pathname}${query ? `?${query}` : ""}`;
  };
  return (
    <nav className="pager" aria-label={label}>
      {hasPrev ? (
        <Link className="button button-secondary" to={to(page - 1)} rel="prev">
          ← Previous
        </Link>
      ) : (
        <span className="button button-secondary" aria-disabled="true">
          ← Previous
        </span>
      )}
      <span className="pager-page">Page {page}</span>
      {hasNext ? (
        <Link className="button button-secondary" to={to(page + 1)} rel="next">
          Next →
        </Link>
      ) : (
        <span className="button button-secondary" aria-disabled="true">
          Next →
        </span>
      )}
    </nav>
  );
}
