import type { Problem, ProblemFieldError } from "./types";

/** What went wrong, in the terms the pages need to react. */
export type ApiErrorKind =
  | "problem" //      the API answered with problem+json
  | "signed-out" //   no session (401, or the sign-in page came back instead of JSON)
  | "network" //      nothing answered (offline, proxy down, blocked by the browser)
  | "not-available" // the route does not exist on this server (yet)
  | "unexpected"; //   an answer we cannot read

/** Every failed call to the API (or to Blob storage) throws one of these. */
export class ApiError extends Error {
  readonly kind: ApiErrorKind;
  readonly status: number;
  readonly problem: Problem | null;

  constructor(kind: ApiErrorKind, status: number, message: string, problem: Problem | null = null) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.problem = problem;
  }

  /** The slug of `urn:simgate:problem:<slug>`, e.g. "validation-failed". */
  get slug(): string | null {
    const type = this.problem?.type ?? "";
    return type.startsWith("urn:simgate:problem:") ? type.slice("urn:simgate:problem:".length) : null;
  }

  get fieldErrors(): ProblemFieldError[] {
    return this.problem?.errors ?? [];
  }
}

const PLAIN_BY_STATUS: Record<number, string> = {
  400: "The request was not understood.",
  401: "You are not signed in.",
  403: "You are not allowed to do this.",
  404: "This does not exist, or it is not yours.",
  409: "This cannot be done in the item's current state.",
  412: "Someone changed this in the meantime. Reload and try again.",
  413: "That is too large.",
  415: "The server could not read what was sent.",
  422: "Some values are not valid.",
  429: "Too many requests. Wait a moment and try again.",
  500: "Something went wrong on the server. Try again later.",
  502: "The server could not be reached. Try again later.",
  503: "The service is busy or one of its parts is down. Try again in a moment.",
  504: "The server took too long to answer. Try again.",
};

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const capital = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** A plain-words sentence for any error a page may catch. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.kind) {
      case "signed-out":
        return "Your session has ended. Sign in again to continue.";
      case "network":
        return error.message || "The server could not be reached. Check your connection and try again.";
      case "not-available":
        return error.message || "This server does not offer that yet.";
      case "unexpected":
        return error.message || "The server sent an answer that could not be read.";
      case "problem": {
        const detail = error.problem?.detail;
        if (detail) return sentence(detail);
        return PLAIN_BY_STATUS[error.status] ?? sentence(error.problem?.title ?? error.message);
      }
    }
  }
  if (error instanceof Error && error.name === "AbortError") return "The request was stopped.";
  if (error instanceof Error && error.message) return sentence(error.message);
  return "Something went wrong.";
}

/** Parse a problem+json body, tolerating missing members. */
export function toProblem(body: unknown, status: number): Problem {
  const b = (body && typeof body === "object" ? body : {}) as Partial<Problem>;
  return {
    type: typeof b.type === "string" ? b.type : "about:blank",
    title: typeof b.title === "string" ? b.title : `HTTP ${status}`,
    status: typeof b.status === "number" ? b.status : status,
    detail: typeof b.detail === "string" ? b.detail : typeof b.title === "string" ? b.title : `HTTP ${status}`,
    instance: typeof b.instance === "string" ? b.instance : undefined,
    errors: Array.isArray(b.errors)
      ? b.errors
          .filter((e): e is ProblemFieldError => !!e && typeof e === "object" && typeof e.message === "string")
          .map((e) => ({ field: String(e.field ?? ""), rule: e.rule, message: e.message }))
      : undefined,
  };
}
