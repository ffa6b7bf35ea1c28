import { vi } from "vitest";

/** An answer of the fake network: a status, a body (JSON unless a string), headers. */
export function answer(
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
  extra: Partial<Pick<Response, "redirected" | "url">> = {},
): Response {
  const text = body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body);
  const response = new Response([204, 304].includes(status) ? null : text, { status, headers });
  for (const [key, value] of Object.entries(extra)) Object.defineProperty(response, key, { value });
  return response;
}

export const json = { "Content-Type": "application/json" };
export const problemJson = { "Content-Type": "application/problem+json; charset=utf-8" };

/** A fresh copy (a body is read once), with what a test said about redirects. */
function copyOf(response: Response): Response {
  const copy = response.clone();
  for (const key of ["redirected", "url"] as const) {
    if (Object.hasOwn(response, key)) Object.defineProperty(copy, key, { value: response[key] });
  }
  return copy;
}

/** Stands in for `fetch`: answers in turn (the last one again), and keeps every request it got. */
export function fakeFetch(...answers: Array<Response | (() => Response) | Error>) {
  const requests: Request[] = [];
  let next = 0;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      requests.push(request);
      const planned = answers[Math.min(next++, answers.length - 1)];
      if (planned instanceof Error) throw planned;
      return typeof planned === "function" ? planned() : copyOf(planned);
    }),
  );
  return requests;
}
