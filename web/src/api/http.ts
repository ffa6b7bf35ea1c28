import { ApiError, toProblem } from "./errors";
import type { Page } from "./types";

/** The API's base path: same origin, proxied by Static Web Apps (or its CLI) to the Functions app. */
export const API_BASE = "/api";

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ApiResponse<T> {
  data: T;
  response: Response;
}

export function buildQuery(query: Query | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

function isJson(response: Response): boolean {
  const type = response.headers.get("Content-Type") ?? "";
  return /^application\/(problem\+)?json\b/i.test(type) || /\+json\b/i.test(type);
}

/** The sign-in page answering in place of the API: Static Web Apps redirects a 401 to it. */
function cameBackFromSignIn(response: Response): boolean {
  return response.redirected && /\/\.auth\/login\//.test(response.url);
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204 || response.headers.get("Content-Length") === "0") return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One call to the API. Every page goes through here: JSON in, JSON out, errors as ApiError. */
export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const { method = "GET", query, body, headers = {}, signal } = options;
  const init: RequestInit = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json, application/problem+json", ...headers },
    signal,
  };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  let response: Response;
  try {
    response = await fetch(`${API_BASE}${path}${buildQuery(query)}`, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError("network", 0, "The server could not be reached. Check your connection and try again.");
  }

  if (cameBackFromSignIn(response)) {
    throw new ApiError("signed-out", 401, "Your session has ended.");
  }
  if (response.status === 304) return { data: null as T, response }; // a conditional request: nothing new
  if (response.ok && (response.status === 204 || isJson(response))) {
    const data = (await readBody(response)) as T;
    return { data, response };
  }
  if (response.ok) {
    throw new ApiError("unexpected", response.status, "The server sent an answer that could not be read.");
  }

  const parsed = isJson(response) ? await readBody(response) : null;
  if (parsed && typeof parsed === "object") {
    const problem = toProblem(parsed, response.status);
    const kind = response.status === 401 ? "signed-out" : "problem";
    throw new ApiError(kind, response.status, problem.detail ?? problem.title, problem);
  }
  if (response.status === 401) throw new ApiError("signed-out", 401, "Your session has ended.");
  if (response.status === 404 || response.status === 405) {
    // Something in between (not the API, which answers with problem documents) without one.
    throw new ApiError("not-available", response.status, "This server does not offer that yet.");
  }
  if (response.status === 502 || response.status === 503 || response.status === 504) {
    throw new ApiError("network", response.status, "The server could not be reached. Try again in a moment.");
  }
  throw new ApiError("unexpected", response.status, `The server answered ${response.status} ${response.statusText}.`);
}

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
