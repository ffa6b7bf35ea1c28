import { api, bodyOf } from "./http";
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
  const filters = { q: query.q, tag: query.tag };
  return listPage("case", filters, query.page ?? 1, query.perPage ?? 20, (paging) =>
    api.GET("/api/case", { params: { query: { ...filters, ...paging } }, signal }),
  );
}

export async function getCase(caseId: string, version?: number, signal?: AbortSignal): Promise<CaseDetails> {
  return bodyOf(await api.GET("/api/case/{case_id}", { params: { path: { case_id: caseId }, query: { version } }, signal }));
}
