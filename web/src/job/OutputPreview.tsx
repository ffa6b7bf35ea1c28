import { useEffect, useMemo, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { downloadOutput } from "../api";
import { outputTextQuery } from "../api/queries";
import type { Output } from "../api/types";
import { ErrorMessage, Loading } from "../components/States";
import { formatBytes } from "../lib/format";
import { CsvPlot } from "./CsvPlot";
import { CsvTable, PREVIEW_ROWS } from "./CsvTable";
import { parseCsv } from "./csv";
import { previewKind } from "./outputKinds";

const MAX_TEXT_CHARS = 200_000;

/** One output read from Blob storage and shown by kind: CSV as plot and table, JSON formatted, text as text. */
export function OutputPreview({ jobId, output, onClose }: { jobId: string; output: Output; onClose: () => void }) {
  // A live file's newer copy replaces the one shown once it is read.
  const { data: text, error, isPending, refetch } = useQuery({
    ...outputTextQuery(jobId, output),
    placeholderData: (previous, previousQuery) =>
      previousQuery?.queryKey[2] === jobId && previousQuery.queryKey[3] === output.output_id ? previous : undefined,
  });
  const kind = previewKind(output);
  const heading = useRef<HTMLHeadingElement>(null);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  useEffect(() => heading.current?.focus(), [output.output_id]);

  return (
    <section className="panel preview" aria-labelledby="preview-heading">
      <div className="panel-head preview-head">
        <div className="preview-title">
          <h2 id="preview-heading" ref={heading} tabIndex={-1}>
            {output.name}
          </h2>
          <span className="muted small">
            {output.content_type} · {formatBytes(output.size)}
          </span>
        </div>
        <div className="button-row">
          <button
            type="button"
            className="button button-secondary button-small"
            onClick={() => {
              setDownloadError(null);
              downloadOutput(jobId, output.output_id).catch(setDownloadError);
            }}
          >
            Download
          </button>
          <button type="button" className="button button-ghost button-small" onClick={onClose}>
            Close preview
          </button>
        </div>
      </div>
      <ErrorMessage title="Could not download the file" error={downloadError} />
      {isPending && <Loading what={`Reading ${output.name} from storage…`} />}
      <ErrorMessage title="Could not show this file" error={error} onRetry={() => void refetch()} />
      {text !== undefined && !error && <PreviewBody kind={kind} text={text} name={output.name} />}
    </section>
  );
}

function PreviewBody({ kind, text, name }: { kind: ReturnType<typeof previewKind>; text: string; name: string }) {
  if (kind === "csv") return <CsvPreview text={text} name={name} />;
  if (kind === "json") return <JsonPreview text={text} />;
  return <TextPreview text={text} />;
}

function CsvPreview({ text, name }: { text: string; name: string }) {
  const data = useMemo(() => parseCsv(text), [text]);
  if (!data.columns.length) return <p className="muted">The file is empty.</p>;
  return (
    <div className="stack">
      <section aria-labelledby="plot-heading">
        <h3 id="plot-heading">Plot</h3>
        <CsvPlot data={data} title={name} />
      </section>
      <section aria-labelledby="table-heading">
        <h3 id="table-heading">
          Table{" "}
          <span className="muted small">
            {data.rows.length > PREVIEW_ROWS
              ? `first ${PREVIEW_ROWS} of ${data.rows.length} rows`
              : `${data.rows.length} ${data.rows.length === 1 ? "row" : "rows"}`}
            , {data.columns.length} columns
          </span>
        </h3>
        <CsvTable data={data} caption={name} />
        {data.warnings.length > 0 && (
          <p className="muted small">Some rows could not be read: {data.warnings.join("; ")}</p>
        )}
      </section>
    </div>
  );
}

function JsonPreview({ text }: { text: string }) {
  const formatted = useMemo(() => {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return null;
    }
  }, [text]);
  if (formatted === null) {
    return (
      <>
        <p className="muted small">This file is not valid JSON; it is shown as it is.</p>
        <TextPreview text={text} />
      </>
    );
  }
  return <TextPreview text={formatted} className="code-json" />;
}

function TextPreview({ text, className = "" }: { text: string; className?: string }) {
  if (!text.trim()) return <p className="muted">The file is empty.</p>;
  const cut = text.length > MAX_TEXT_CHARS;
  return (
    <>
      <pre className={`code ${className}`} tabIndex={0}>
        {cut ? text.slice(0, MAX_TEXT_CHARS) : text}
      </pre>
      {cut && <p className="muted small">Only the beginning is shown; download the file for all of it.</p>}
    </>
  );
}
