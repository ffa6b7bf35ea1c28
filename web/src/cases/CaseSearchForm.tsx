import { useEffect, useState } from "react";
import { useDebouncedValue } from "../lib/useDebouncedValue";

/** Search words (applied once typing pauses), a tag, and a way to clear both. */
export function CaseSearchForm({
  q,
  tag,
  tags,
  onSearch,
  onTag,
  onClear,
}: {
  q: string;
  tag: string;
  tags: string[];
  onSearch: (q: string) => void;
  onTag: (tag: string) => void;
  onClear: () => void;
}) {
  const [text, setText] = useState(q);
  const typed = useDebouncedValue(text, 300);
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    if (typed !== q) onSearch(typed.trim());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typed]);

  return (
    <form className="filters" role="search" aria-label="Search cases" onSubmit={(e) => e.preventDefault()}>
      <div className="filter filter-grow">
        <label htmlFor="case-search">Search by title or tag</label>
        <input
          id="case-search"
          className="input"
          type="search"
          placeholder="e.g. smoothie, heat"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </div>
      <div className="filter">
        <label htmlFor="case-tag">Tag</label>
        <select id="case-tag" className="input" value={tag} onChange={(e) => onTag(e.target.value)}>
          <option value="">All tags</option>
          {tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </div>
      {(q || tag) && (
        <div className="filter filter-end">
          <button
            type="button"
            className="button button-ghost"
            onClick={() => {
              setText("");
              onClear();
            }}
          >
            Clear search
          </button>
        </div>
      )}
    </form>
  );
}
