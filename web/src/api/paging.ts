import { apiRequest, buildQuery, toPage, type Query } from "./http";
import type { Page } from "./types";

/**
 * Continuation tokens already seen, so that page N+1 is read with `?continuation=` (one Table
 * query) instead of `?page=N+1` (the server re-reads the N pages before it). Keyed by list and
 * filters; a token is only a shortcut, `?page=` is always a correct fallback.
 */
const tokens = new Map<string, string>();
const MAX_TOKENS = 200;

function tokenKey(path: string, filters: Query, perPage: number, page: number): string {
  return `${path}${buildQuery(filters)}#${perPage}#${page}`;
}

export async function listPage<T>(
  path: string,
  filters: Query,
  page: number,
  perPage: number,
  signal?: AbortSignal,
): Promise<Page<T>> {
  const token = page > 1 ? tokens.get(tokenKey(path, filters, perPage, page)) : undefined;
  const query: Query = { ...filters, per_page: perPage, ...(token ? { continuation: token } : { page }) };
  const { data, response } = await apiRequest<T[]>(path, { query, signal });
  const result = toPage(data, response, page, perPage);
  if (result.continuation) {
    if (tokens.size >= MAX_TOKENS) tokens.clear();
    tokens.set(tokenKey(path, filters, perPage, page + 1), result.continuation);
  }
  return result;
}
