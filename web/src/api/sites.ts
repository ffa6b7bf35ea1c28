import { api, bodyOf } from "./http";
import type { JobOffers, Site } from "./types";

export async function getJobOffers(jobId: string, signal?: AbortSignal): Promise<JobOffers> {
  return bodyOf(await api.GET("/api/job/{job_id}/offers", { params: { path: { job_id: jobId } }, signal }));
}

/** Every site with its limits, usage and line: admins only (403 otherwise). */
export async function listSites(signal?: AbortSignal): Promise<Site[]> {
  return bodyOf(await api.GET("/api/simulators", { signal }));
}
