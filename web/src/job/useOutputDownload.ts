import { useState } from "react";
import { downloadOutput } from "../api";
import type { Output } from "../api/types";

/** Downloading a job's outputs by link: which one is being prepared, and the last error. */
export function useOutputDownload(jobId: string) {
  const [downloading, setDownloading] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const download = async (output: Output) => {
    setDownloading(output.output_id);
    setError(null);
    try {
      await downloadOutput(jobId, output.output_id);
    } catch (err) {
      setError(err);
    } finally {
      setDownloading(null);
    }
  };

  return { downloading, error, download };
}
