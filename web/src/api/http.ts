import createClient, { type Middleware } from "openapi-fetch";
import { ApiError, toProblem } from "./errors";
import type { paths } from "./schema";

type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue | readonly QueryValue[]>;

/** `?a=1&b=x`, leaving out what is empty (no value, "", false); a list repeats its name (`?job=A&job=B`). */
export function buildQuery(query: Query | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, given] of Object.entries(query)) {
    const values: readonly QueryValue[] = Array.isArray(given) ? given : [given as QueryValue];
    for (const value of values) {
      if (value === undefined || value === null || value === "" || value === false) continue;
      params.append(key, String(value));
    }
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

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What the API answered, unless it is something to show: then the ApiError it means. */
async function failureOf(response: Response): Promise<ApiError | null> {
  if (cameBackFromSignIn(response)) return new ApiError("signed-out", 401, "Your session has ended.");
  if (response.status === 304) return null; // a conditional request: nothing new, the caller keeps what it has
  if (response.ok) {
    const empty = response.status === 204 || response.headers.get("Content-Length") === "0";
    return empty || isJson(response)
      ? null
      : new ApiError("unexpected", response.status, "The server sent an answer that could not be read.");
  }

  const parsed = isJson(response) ? await readJson(response) : null;
  if (parsed && typeof parsed === "object") {
    const problem = toProblem(parsed, response.status);
    const kind = response.status === 401 ? "signed-out" : "problem";
    return new ApiError(kind, response.status, problem.detail ?? problem.title, problem);
  }
  if (response.status === 401) return new ApiError("signed-out", 401, "Your session has ended.");
  if (response.status === 404 || response.status === 405) {
    // Something in between (not the API, which answers with problem documents) without one.
    return new ApiError("not-available", response.status, "This server does not offer that yet.");
  }
  if (response.status === 502 || response.status === 503 || response.status === 504) {
    return new ApiError("network", response.status, "The server could not be reached. Try again in a moment.");
  }
  return new ApiError("unexpected", response.status, `The server answered ${response.status} ${response.statusText}.`);
}

/**
 * Every failure becomes an ApiError thrown from the call, so a call that returns has the answer
 * (or a 304). Aborted requests stay AbortErrors: TanStack Query and the pages ignore those.
 */
export const apiErrors: Middleware = {
  async onResponse({ response }) {
    const failure = await failureOf(response);
    if (failure) throw failure;
    return undefined;
  },
  onError({ error }) {
    if (error instanceof DOMException && error.name === "AbortError") return error;
    return new ApiError("network", 0, "The server could not be reached. Check your connection and try again.");
  },
};

export interface ClientSetup {
  /** Where the API's paths (`/api/...`) start: the app's own origin, so "" in the browser. */
  baseUrl?: string;
  fetch?: (request: Request) => Promise<Response>;
}

/** A client typed by the API's OpenAPI document: a path, query or body the API lacks fails `tsc`. */
export function createApiClient({ baseUrl = "", fetch }: ClientSetup = {}) {
  const client = createClient<paths>({
    baseUrl,
    // Looked up on each call, so that tests can stand in for the network.
    fetch: fetch ?? ((request) => globalThis.fetch(request)),
    credentials: "same-origin",
    headers: { Accept: "application/json, application/problem+json" },
    querySerializer: (query) => buildQuery(query as Query),
  });
  client.use(apiErrors);
  return client;
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** The one client of the app: same origin, so Static Web Apps (or its CLI) proxies /api to the Functions app. */
export const api = createApiClient();

/** The body of an answer that has one; the client has already thrown for failures. */
export function bodyOf<T>(answer: { data?: T; response: Response }): T {
  if (answer.data === undefined) {
    throw new ApiError("unexpected", answer.response.status, "The server sent an answer that could not be read.");
  }
  return answer.data;
}
