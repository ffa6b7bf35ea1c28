import { apiRequest } from "./http";
import { listPage } from "./paging";
import type { CaseDetails, CaseHeader, Page } from "./types";

export interface CaseListQuery {
  /** Sent as ?q= and ?tag= (the backend ignores them until it filters; the page filters too). */
  q?: string;
  tag?: string;
  page?: number;
  perPage?: number;
}

export function listCases(query: CaseListQuery = {}, signal?: AbortSignal): Promise<Page<CaseHeader>> {
  return listPage<CaseHeader>("/case", { q: query.q, tag: query.tag }, query.page ?? 1, query.perPage ?? 20, signal);
}

export async function getCase(caseId: string, version?: number, signal?: AbortSignal): Promise<CaseDetails> {
  const { data } = await apiRequest<CaseDetails>(`/case/${encodeURIComponent(caseId)}`, {
    query: { version },
    signal,
  });
  return data;
}
