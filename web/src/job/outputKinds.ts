import type { Output } from "../api/types";

export type PreviewKind = "csv" | "json" | "text" | "none";

/** Files larger than this are offered for download only. */
export const MAX_PREVIEW_BYTES = 5_000_000;

export function previewKind(output: Output): PreviewKind {
  const name = output.name.toLowerCase();
  const type = output.content_type.toLowerCase();
  if (type.includes("csv") || name.endsWith(".csv") || name.endsWith(".tsv")) return "csv";
  if (type.includes("json") || name.endsWith(".json")) return "json";
  if (type.startsWith("text/") || /\.(log|txt|out|err|md|ini|cfg|toml|ya?ml|xml|sh|py)$/.test(name)) return "text";
  return "none";
}

/** "logs/stderr.log" → ["logs/", "stderr.log"] */
export function splitName(name: string): [string, string] {
  const slash = name.lastIndexOf("/");
  return slash < 0 ? ["", name] : [name.slice(0, slash + 1), name.slice(slash + 1)];
}
