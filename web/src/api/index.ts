/** The one way the app talks to the outside: the simgate API, Blob storage links and /.auth. */
export * from "./auth";
export * from "./cases";
export * from "./errors";
export * from "./jobs";
export * from "./jobStatuses";
export * from "./live";
export * from "./outputs";
export * from "./sites";
export * from "./studies";
export type * from "./types";
export { buildQuery } from "./http";
export { parseLinkHeader } from "./paging";
