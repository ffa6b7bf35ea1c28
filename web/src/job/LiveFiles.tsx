import { useMemo } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { outputTextQuery } from "../api/queries";
import type { Output } from "../api/types";
import { ErrorMessage, Loading } from "../components/States";
import { formatBytes, formatDateTime } from "../lib/format";
import { CsvPlot } from "./CsvPlot";
import { parseCsv } from "./csv";

/**
 * A plot of a CSV file the job writes while it runs, redrawn each time a newer copy is taken (read
 * once per copy, straight from storage); once the job is done, of the final file that replaced it.
 */
export function LiveFilePlot({ jobId, file, headingId }: { jobId: string; file: Output; headingId: string }) {
  const partial = file.state === "partial";
  const query = useQuery({ ...outputTextQuery(jobId, file), placeholderData: keepPreviousData });
  const text = query.data;
  const data = useMemo(() => (text === undefined ? null : parseCsv(text)), [text]);

  return (
    <section className="live-file" aria-labelledby={headingId}>
      <div className="live-file-head">
        <h4 id={headingId} className="file-name">
          {file.name}
        </h4>
        <span className="muted small" data-taken-at={file.taken_at ?? ""}>
          {partial ? (
            <>
              <span className="badge badge-partial">partial</span> taken at{" "}
              <time dateTime={file.taken_at ?? undefined}>{formatDateTime(file.taken_at)}</time>
            </>
          ) : (
            <>final · {formatBytes(file.size)}</>
          )}
        </span>
        {query.isFetching && text !== undefined && <span className="muted small">reading the newer copy…</span>}
      </div>
      {query.isPending && <Loading what={`Reading ${file.name} from storage…`} />}
      {query.error && (
        <ErrorMessage title={`Could not read ${file.name}`} error={query.error} onRetry={() => void query.refetch()} />
      )}
      {data &&
        (data.columns.length ? (
          <CsvPlot data={data} title={file.name} height={260} />
        ) : (
          <p className="muted small">The file is empty so far.</p>
        ))}
    </section>
  );
}
