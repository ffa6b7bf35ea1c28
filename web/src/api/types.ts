/**
 * Every type the API speaks, named after its resources.
 *
 * They come from the API's OpenAPI document (src/api/openapi.json, written by `make api` from the
 * backend's models): `npm run gen:api` turns it into schema.ts on every build, so a change of the
 * contract shows up here as a type error, not in front of a user. Only what the browser adds
 * (pages, the Static Web Apps identity) is written by hand.
 */
import type { components, operations } from "./schema";

type Schemas = components["schemas"];

/** ISO 8601 date-time as the API sends it (UTC). */
export type DateTime = string;

// ---------------------------------------------------------------- cases

export type CaseHeader = Schemas["CaseHeader"];
export type CaseDetails = Schemas["CaseDetails"];
/** One typed input of a case; the rules the API checks values against. */
export type FieldSpec = Schemas["FieldInfo"];
export type FieldType = FieldSpec["type"];
export type FieldValue = FieldSpec["default"];
export type CaseScript = Schemas["ScriptInfo"];

// ---------------------------------------------------------------- jobs

export type JobStatus = Schemas["JobStatus"];
/** Handed to the system and not finished: submitted to cleanup. */
export type ActiveJobStatus = Schemas["ActiveJobStatus"];
/** Finished for good: done, failed, cancelled. */
export type TerminalJobStatus = Schemas["TerminalJobStatus"];
/** Values of a job's fields by field name. */
export type FieldValues = Record<string, FieldValue>;
export type JobSummary = Schemas["JobSummary"];
/** One step of a job's history. `source`: "api:<user>", "manager", "agent" or "reconciler". */
export type Transition = Schemas["Transition"];
export type JobDetails = Schemas["JobDetails"];
export type JobStatusInfo = Schemas["JobStatusInfo"];
export type NewJob = Schemas["NewJob"];
export type JobCreated = Schemas["JobCreated"];
export type FieldsUpdate = Schemas["FieldsUpdate"];
export type FieldsUpdated = Schemas["FieldsSet"];
export type RunAccepted = Schemas["RunAccepted"];
export type CancelAccepted = Schemas["CancelAccepted"];

/** Filters of GET /api/job. `all` and `user` are for admins; `sweep_id`: a sweep's members. */
export type JobListQuery = Pick<
  NonNullable<operations["listJobs"]["parameters"]["query"]>,
  "status" | "case_id" | "user" | "all" | "sweep_id"
>;

// ---------------------------------------------------------------- sites

/** Licence counts by licence name: what a site has, what is in use, what one run holds. */
export type Licences = Record<string, number>;
/** What a site allows at once: jobs, licences by name, jobs of one user. */
export type SiteLimits = Schemas["SiteLimitsInfo"];
/** GET /api/job/{job_id}/offers: where the job could run, and where it went once placed. */
export type JobOffers = Schemas["JobOffers"];
/** One site for one job: whether it can take it (and why not), how busy it is, when it would start it. */
export type Offer = Schemas["OfferInfo"];
/** The body of POST /api/job/{job_id}: without `simulator`, the offer that starts soonest. */
export type RunRequest = Schemas["RunRequest"];
/** GET /api/simulators (admins): a site's limits, what is in use, whether it answers, who waits. */
export type Site = Schemas["SiteInfo"];
/** A job in a site's line; `place` 1 is its head. */
export type WaitingJob = Schemas["WaitingInfo"];

// ---------------------------------------------------------------- outputs

/** GET /api/job/{job_id}/output: one file a job produced. Ids like csv1, json1, log1. */
export type Output = Schemas["OutputInfo"];
/** GET /api/job/{job_id}/output/{output_id}: a read-only link straight to Blob storage. */
export type OutputLink = Schemas["OutputLink"];

// ---------------------------------------------------------------- live runs

/** GET /api/job/{job_id}/live: one look at a running job (status, progress, a log piece, the series, live files). */
export type LiveView = Schemas["LiveView"];
/** A piece of a stream: the text of bytes [offset, next_offset). */
export type LogTail = Schemas["LogTail"];
/** How much of a stream there is: `size` bytes written, kept from `truncated_before` on. */
export type StreamInfo = Schemas["StreamInfo"];
/** The logs a live look can include. */
export type LogStream = NonNullable<NonNullable<operations["getLive"]["parameters"]["query"]>["log"]>;

// ---------------------------------------------------------------- studies: sweeps, previews, comparisons

/** POST /api/sweep: base values, and `vary` (lists per field, grid or zip) or a `table` of runs. */
export type NewSweep = Schemas["NewSweep"];
export type SweepMode = NonNullable<NewSweep["mode"]>;
export type SweepCreated = Schemas["SweepCreated"];
/** GET /api/sweep: one row of the list. `mode` "table" for a sweep made from a table. */
export type SweepSummary = Schemas["SweepSummary"];
/** GET /api/sweep/{sweep_id}: state, counts by status, progress and every member (its current attempt). */
export type SweepDetails = Schemas["SweepDetails"];
export type SweepState = SweepDetails["state"];
export type SweepMember = Schemas["SweepMember"];
/** A numeric CSV column summarised: count, min, max, mean, last. */
export type ColumnStats = Schemas["ColumnStats"];
export type SweepCancelled = Schemas["SweepCancelled"];
export type SweepRetried = Schemas["SweepRetried"];
export type SweepStarted = Schemas["SweepStarted"];
/** Filters of GET /api/sweep. */
export type SweepListQuery = Pick<NonNullable<operations["listSweeps"]["parameters"]["query"]>, "case_id">;

/** POST /api/preview: what would run (no vary or table: one run of the base values). */
export type PreviewRequest = Schemas["PreviewRequest"];
/** What would run, checked and rendered, with a quote per site. Nothing was written. */
export type PreviewAnswer = Schemas["PreviewAnswer"];
/** One member of a preview: its values and its own problems. */
export type MemberCheck = Schemas["MemberCheck"];
/** A run's scripts as they would be written (by script name). */
export type RenderedRun = Schemas["RenderedRun"];
/** One site's offer for all the runs of a preview, with when the last would finish. */
export type Quote = Schemas["Quote"];

/** GET /api/compare: jobs of one case side by side (each list has one entry per job, in the jobs' order). */
export type Comparison = Schemas["Comparison"];
export type ComparedJob = Schemas["ComparedJob"];
export type ComparedField = Schemas["ComparedField"];
export type ComparedOutput = Schemas["ComparedOutput"];
export type ComparedFile = Schemas["ComparedFile"];
export type ComparedColumn = Schemas["ComparedColumn"];

// ---------------------------------------------------------------- errors

/** RFC 9457 problem details, `application/problem+json`. Types: `urn:simgate:problem:<slug>`. */
export type Problem = Schemas["Problem"];
export type ProblemFieldError = Schemas["ProblemEntry"];

// ---------------------------------------------------------------- the browser's own

/** One page of a list, with what the response headers say about the next one. */
export interface Page<T> {
  items: T[];
  page: number;
  perPage: number;
  hasNext: boolean;
  hasPrev: boolean;
  /** X-Continuation-Token: reads the next page without re-reading the earlier ones. */
  continuation: string | null;
}

/** GET /.auth/me (Static Web Apps). */
export interface ClientPrincipal {
  identityProvider: string;
  userId: string;
  userDetails: string;
  userRoles: string[];
}

export interface AuthMe {
  clientPrincipal: ClientPrincipal | null;
}
