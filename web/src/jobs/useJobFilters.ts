import { useSearchParams } from "react-router";
import type { JobListQuery, JobStatus } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { withFilter } from "../lib/filterParams";

/**
 * The jobs list's filters, kept in the URL: `?status=&case_id=&sweep_id=&page=`, and for admins
 * `&user=` or `&all=true`.
 */
export function useJobFilters() {
  const { isAdmin } = useAuth();
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") ?? "") as JobStatus | "";
  const caseId = params.get("case_id") ?? "";
  const sweepId = params.get("sweep_id") ?? "";
  const all = isAdmin && params.get("all") === "true";
  const user = isAdmin ? (params.get("user") ?? "") : "";
  const page = Math.max(1, Number(params.get("page")) || 1);
  const query: JobListQuery = {
    status: status || undefined,
    case_id: caseId || undefined,
    all: all || undefined,
    user: user || undefined,
    sweep_id: sweepId || undefined,
  };

  /** Set one filter (empty: remove it), back to the first page. */
  const update = (name: "status" | "case_id" | "user" | "sweep_id", value: string) =>
    setParams((current) => withFilter(current, name, value));

  /** Everyone's jobs, or the admin's own; a user filter does not apply to everyone's. */
  const showAll = (checked: boolean) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      if (checked) next.set("all", "true");
      else next.delete("all");
      next.delete("user");
      next.delete("page");
      return next;
    });

  return {
    isAdmin,
    status,
    caseId,
    sweepId,
    all,
    user,
    page,
    query,
    filtered: !!(status || caseId || user || all || sweepId),
    update,
    showAll,
    clear: () => setParams({}),
  };
}

export type JobFilterState = ReturnType<typeof useJobFilters>;
