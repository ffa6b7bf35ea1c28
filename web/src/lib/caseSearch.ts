import type { CaseHeader } from "../api/types";

/**
 * The catalogue filter over what is loaded: every word of `q` must appear in the title, id,
 * summary or a tag; `tag` must be one of the tags. The same `q` and `tag` go to the API, which
 * will filter server-side; on its already-filtered answer this is a no-op.
 */
export function matchesCase(item: CaseHeader, q: string, tag: string): boolean {
  if (tag && !item.tags.some((t) => t.toLowerCase() === tag.toLowerCase())) return false;
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const haystack = [item.title, item.id, item.summary, ...item.tags].join(" ").toLowerCase();
  return words.every((word) => haystack.includes(word));
}
