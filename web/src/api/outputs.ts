import { ApiError } from "./errors";
import { api, bodyOf } from "./http";
import type { Output, OutputLink } from "./types";

export async function listOutputs(jobId: string, signal?: AbortSignal): Promise<Output[]> {
  const outputs = bodyOf(await api.GET("/api/job/{job_id}/output", { params: { path: { job_id: jobId } }, signal }));
  return Array.isArray(outputs) ? outputs : [];
}

/** A read-only link (SAS, ~15 minutes) straight to the file in Blob storage. */
export async function getOutputLink(jobId: string, outputId: string, signal?: AbortSignal): Promise<OutputLink> {
  return bodyOf(
    await api.GET("/api/job/{job_id}/output/{output_id}", {
      params: { path: { job_id: jobId, output_id: outputId } },
      signal,
    }),
  );
}

/**
 * The text of an output, read by the browser from Blob storage (never through the API).
 * Cross-origin: it needs Blob CORS to allow this app's origin, and the browser to trust the
 * storage's certificate (Azurite's is self-signed).
 */
export async function readOutputText(jobId: string, outputId: string, signal?: AbortSignal): Promise<string> {
  return readLinkedText(await getOutputLink(jobId, outputId, signal), signal);
}

/**
 * The text behind a link to storage (see readOutputText). `fresh` bypasses the browser's cache: a
 * live file is overwritten in place, so the same link serves a newer copy each time it is taken.
 */
export async function readLinkedText(
  link: OutputLink,
  signal?: AbortSignal,
  { fresh = false }: { fresh?: boolean } = {},
): Promise<string> {
  let response: Response;
  try {
    response = await fetch(link.url, { mode: "cors", credentials: "omit", signal, cache: fresh ? "no-store" : "default" });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(
      "network",
      0,
      "The browser could not read this file from storage. Storage must allow this site (CORS) and its " +
        "certificate must be trusted. Downloading the file still works.",
    );
  }
  if (!response.ok) {
    throw new ApiError(
      "unexpected",
      response.status,
      response.status === 403
        ? "Storage refused the link (it may have expired). Try again."
        : `Storage answered ${response.status} for this file.`,
    );
  }
  return response.text();
}

/** Start a download: the link answers with Content-Disposition: attachment, so the page stays. */
export async function downloadOutput(jobId: string, outputId: string): Promise<void> {
  const link = await getOutputLink(jobId, outputId);
  const anchor = document.createElement("a");
  anchor.href = link.url;
  anchor.rel = "noopener";
  anchor.style.display = "none";
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
}
