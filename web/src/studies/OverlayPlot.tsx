import { useMemo } from "react";
import { useQueries } from "@tanstack/react-query";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { describeError } from "../api";
import { outputTextQuery, outputsQuery } from "../api/queries";
import type { Comparison, Output } from "../api/types";
import { Loading } from "../components/States";
import { runColor, runLabel } from "./compareRows";
import { overlayLine, thin, type OverlayLine, type XAxisChoice } from "./overlay";

const MAX_POINTS = 1500;
const numberFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 4 });
const tick = (value: unknown) => (typeof value === "number" ? numberFormat.format(value) : String(value));

/**
 * One column of one CSV output of every run, one line per run. Each run's file is found in its
 * outputs and read from Blob storage through its download link, as the job page's preview reads
 * it (the same queries, so a file is read once).
 */
export default function OverlayPlot({
  comparison,
  output,
  column,
  xAxis,
}: {
  comparison: Comparison;
  output: string;
  column: string;
  xAxis: XAxisChoice;
}) {
  const { jobs } = comparison;
  const place = comparison.outputs.findIndex((o) => o.name === output);
  const lists = useQueries({
    queries: jobs.map((job, i) => {
      const count = comparison.outputs.filter((o) => o.files[i] !== null).length;
      return outputsQuery(job.job_id, job.status, count);
    }),
  });
  const files: (Output | null)[] = jobs.map((_, i) => {
    if (place >= 0 && comparison.outputs[place].files[i] === null) return null;
    return lists[i].data?.find((o) => o.name === output && o.state !== "partial") ?? null;
  });
  const texts = useQueries({
    queries: jobs.map((job, i) => {
      const file = files[i];
      return file ? outputTextQuery(job.job_id, file) : { queryKey: ["overlay-none", job.job_id], queryFn: () => "", enabled: false };
    }),
  });

  const textData = texts.map((t) => t.data);
  const lines = useMemo(
    () =>
      jobs.map((_, i) => {
        const text = textData[i];
        if (typeof text !== "string" || !files[i]) return null;
        const line = overlayLine(text, column, xAxis);
        return { ...line, points: thin(line.points, MAX_POINTS) } satisfies OverlayLine;
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [jobs, column, xAxis, ...textData],
  );

  const loading = jobs.filter((_, i) => lists[i].isPending || (files[i] && texts[i].isPending)).length;
  const missing = jobs.map((_, i) => i).filter((i) => !lists[i].isPending && !files[i]);
  const failures = jobs
    .map((_, i) => ({ i, error: lists[i].error ?? texts[i].error }))
    .filter((f) => f.error);
  const drawn = lines.map((line, i) => ({ line, i })).filter((d): d is { line: OverlayLine; i: number } => !!d.line && d.line.points.length > 0);
  const xName = drawn.find((d) => d.line.x !== "row")?.line.x ?? "row";

  return (
    <div className="overlay">
      {loading > 0 && <Loading what={`Reading ${output} of ${loading} ${loading === 1 ? "run" : "runs"} from storage…`} />}
      <figure
        className="plot-figure overlay-figure"
        aria-label={`${column} of ${output} in each run, against ${xName === "row" ? "the row number" : xName}`}
        data-lines={drawn.length}
      >
        {drawn.length === 0 ? (
          <p className="plot-empty muted">{loading ? "Reading the files…" : "No run has this column to plot yet."}</p>
        ) : (
          <ResponsiveContainer width="100%" height={360}>
            <LineChart margin={{ top: 8, right: 24, bottom: 24, left: 8 }}>
              <CartesianGrid stroke="#e6e8ee" />
              <XAxis
                dataKey="x"
                type="number"
                domain={["dataMin", "dataMax"]}
                allowDuplicatedCategory={false}
                tickFormatter={tick}
                tick={{ fontSize: 12 }}
                label={{ value: xName, position: "insideBottom", offset: -14, fill: "#5b6472", fontSize: 12 }}
              />
              <YAxis dataKey="y" tickFormatter={tick} tick={{ fontSize: 12 }} width={60} />
              <Tooltip
                formatter={(value) => tick(value)}
                labelFormatter={(label) => `${xName} = ${tick(label)}`}
                contentStyle={{ borderRadius: 8, borderColor: "#d5d9e2", fontSize: 13 }}
              />
              <Legend verticalAlign="top" height={28} wrapperStyle={{ fontSize: 13 }} />
              {drawn.map(({ line, i }) => (
                <Line
                  key={jobs[i].job_id}
                  data={line.points}
                  dataKey="y"
                  name={runLabel(i)}
                  stroke={runColor(i)}
                  strokeWidth={2}
                  dot={false}
                  isAnimationActive={false}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
        )}
        <figcaption className="muted small">
          {column} of {output} against {xName === "row" ? "the row number" : xName}: {drawn.length} of {jobs.length} runs drawn.
        </figcaption>
      </figure>
      {missing.length > 0 && (
        <p className="muted small">
          {missing.map((i) => runLabel(i)).join(", ")} {missing.length === 1 ? "has" : "have"} no {output} (yet).
        </p>
      )}
      {failures.length > 0 && (
        <ul className="error-list field-error-list">
          {failures.map(({ i, error }) => (
            <li key={i}>
              {runLabel(i)}: {describeError(error)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
