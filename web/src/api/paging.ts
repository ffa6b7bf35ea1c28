import { bodyOf, buildQuery, type Query } from "./http";
import type { Page } from "./types";

/** The query parameters of the Link header's targets, by relation ("first", "next", "prev"). */
export function parseLinkHeader(header: string | null): Record<string, URLSearchParams> {
  const links: Record<string, URLSearchParams> = {};
  if (!header) return links;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (!match) continue;
    const rel = /rel="?([^";]+)"?/i.exec(match[2])?.[1];
    if (!rel) continue;
    // The links are absolute URLs of the Functions host: only their query matters here.
    const query = match[1].includes("?") ? match[1].slice(match[1].indexOf("?") + 1) : "";
    for (const name of rel.trim().split(/\s+/)) links[name] = new URLSearchParams(query);
  }
  return links;
}

/** A page of a list from its JSON array and its Link / X-Continuation-Token / X-Per-Page headers. */
export function toPage<T>(items: T[], response: Response, page: number, perPage: number): Page<T> {
  const links = parseLinkHeader(response.headers.get("Link"));
  const continuation = response.headers.get("X-Continuation-Token");
  const served = Number(response.headers.get("X-Per-Page"));
  return {
    items: Array.isArray(items) ? items : [],
    page,
    perPage: Number.isFinite(served) && served > 0 ? served : perPage,
    hasNext: "next" in links || !!continuation,
    hasPrev: page > 1,
    continuation,
  };
}

/** How to ask for one page: `?continuation=` when the previous page gave a token, `?page=` otherwise. */
export interface PageQuery {
  per_page: number;
  page?: number;
  continuation?: string;
}

/**
 * Continuation tokens already seen, so that page N+1 is read with `?continuation=` (one Table
 * query) instead of `?page=N+1` (the server re-reads the N pages before it). Keyed by list and
 * filters; a token is only a shortcut, `?page=` is always a correct fallback.
 */
const tokens = new Map<string, string>();
const MAX_TOKENS = 200;

function tokenKey(list: string, filters: Query, perPage: number, page: number): string {
  return `${list}${buildQuery(filters)}#${perPage}#${page}`;
}

/** One page of the list named `list`; `read` makes the typed call with the paging parameters. */
export async function listPage<T>(
  list: string,
  filters: Query,
  page: number,
  perPage: number,
  read: (paging: PageQuery) => Promise<{ data?: T[]; response: Response }>,
): Promise<Page<T>> {
  const token = page > 1 ? tokens.get(tokenKey(list, filters, perPage, page)) : undefined;
  const answer = await read(token ? { per_page: perPage, continuation: token } : { per_page: perPage, page });
  const result = toPage(bodyOf(answer), answer.response, page, perPage);
  if (result.continuation) {
    if (tokens.size >= MAX_TOKENS) tokens.clear();
    tokens.set(tokenKey(list, filters, perPage, page + 1), result.continuation);
  }
  return result;
}
