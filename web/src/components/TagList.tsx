import { Link } from "react-router";

/** A case's tags; each links to the catalogue filtered by it. */
export function TagList({ tags, label }: { tags: string[]; label: string }) {
  if (!tags.length) return null;
  return (
    <ul className="tags" aria-label={label}>
      {tags.map((tag) => (
        <li key={tag}>
          <Link className="tag" to={`/cases?tag=${encodeURIComponent(tag)}`}>
            {tag}
          </Link>
        </li>
      ))}
    </ul>
  );
}
