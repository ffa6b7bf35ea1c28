import type { ReactNode } from "react";

type Block = { kind: "p"; text: string } | { kind: "ul"; items: string[] };

/** Paragraphs (blank-line separated) and "* " / "- " bullet lists; continuation lines join their item. */
export function parseDescription(text: string): Block[] {
  const blocks: Block[] = [];
  for (const chunk of text.replace(/\r\n/g, "\n").split(/\n\s*\n/)) {
    const lines = chunk.split("\n").filter((l) => l.trim());
    if (!lines.length) continue;
    if (/^\s*[*-]\s+/.test(lines[0])) {
      const items: string[] = [];
      for (const line of lines) {
        if (/^\s*[*-]\s+/.test(line)) items.push(line.replace(/^\s*[*-]\s+/, ""));
        else items[items.length - 1] += ` ${line.trim()}`;
      }
      blocks.push({ kind: "ul", items });
    } else {
      blocks.push({ kind: "p", text: lines.map((l) => l.trim()).join(" ") });
    }
  }
  return blocks;
}

/** A case's description as readable text (no HTML from the definition is ever rendered). */
export function DescriptionText({ text }: { text: string }) {
  const blocks = parseDescription(text);
  if (!blocks.length) return <p className="muted">No description.</p>;
  const out: ReactNode[] = blocks.map((block, i) =>
    block.kind === "p" ? (
      <p key={i}>{block.text}</p>
    ) : (
      <ul key={i}>
        {block.items.map((item, j) => (
          <li key={j}>{item}</li>
        ))}
      </ul>
    ),
  );
  return <div className="prose">{out}</div>;
}
