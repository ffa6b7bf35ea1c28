import { useOutputDownload } from "./useOutputDownload";
import type { Output } from "../api/types";
import { ErrorMessage } from "../components/States";
import { formatBytes, formatDateTime } from "../lib/format";
import { MAX_PREVIEW_BYTES, previewKind, splitName } from "./outputKinds";

/**
 * The job's files: name, type, size; Preview (CSV, JSON, text) and Download straight from storage.
 * A live file (state "partial") is marked so, with when the copy shown was taken.
 */
export function OutputList({
  jobId,
  outputs,
  selected,
  onPreview,
}: {
  jobId: string;
  outputs: Output[];
  selected: string | null;
  onPreview: (outputId: string) => void;
}) {
  const { downloading, error, download } = useOutputDownload(jobId);

  return (
    <>
      <ErrorMessage error={error} title="Could not download the file" />
      <div className="table-wrap">
        <table className="table table-stack outputs-table">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Id</th>
              <th scope="col">Type</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {outputs.map((output) => {
              const [folder, file] = splitName(output.name);
              const kind = previewKind(output);
              const previewable = kind !== "none" && output.size > 0 && output.size <= MAX_PREVIEW_BYTES;
              const previewLabel = kind === "csv" ? "Preview & plot" : "Preview";
              const isSelected = selected === output.output_id;
              return (
                <tr key={output.output_id} className={isSelected ? "row-selected" : undefined}>
                  <th scope="row" data-label="File">
                    <span className="file-name">
                      {folder && <span className="muted">{folder}</span>}
                      {file}
                    </span>
                    {output.state === "partial" && (
                      <span className="partial-note">
                        <span className="badge badge-partial" title="A live copy: the file is still being written">
                          partial
                        </span>{" "}
                        <span className="muted small">
                          taken at{" "}
                          <time dateTime={output.taken_at ?? undefined}>{formatDateTime(output.taken_at)}</time>
                        </span>
                      </span>
                    )}
                  </th>
                  <td data-label="Id">
                    <code>{output.output_id}</code>
                  </td>
                  <td data-label="Type">{output.content_type}</td>
                  <td data-label="Size" className="num">
                    {output.size === 0 ? <span className="muted">empty</span> : formatBytes(output.size)}
                  </td>
                  <td className="actions">
                    {previewable && (
                      <button
                        type="button"
                        className="button button-small button-secondary"
                        aria-pressed={isSelected}
                        aria-label={`${previewLabel} ${output.name}`}
                        onClick={() => onPreview(output.output_id)}
                      >
                        {previewLabel}
                      </button>
                    )}
                    <button
                      type="button"
                      className="button button-small button-secondary"
                      aria-label={`Download ${output.name}`}
                      disabled={downloading === output.output_id}
                      onClick={() => download(output)}
                    >
                      {downloading === output.output_id ? "Preparing…" : "Download"}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
