import { useMemo } from "react";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { decades, fitsLogScale, seriesPoints, type SeriesPoint, type SeriesState } from "./series";

const COLORS = ["#1f4fd1", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#e67700", "#495057"];
/** More columns than this are not plotted (each gets a chart). */
const MAX_CHARTS = 8;

const numberFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 4 });
const tick = (value: unknown) => (typeof value === "number" ? numberFormat.format(value) : String(value));
/** On a log scale: 0.01, 1, 100 as they are, smaller and larger values as 1e-6, 2.42e-5. */
const logTick = (value: unknown) => {
  if (typeof value !== "number" || value === 0) return String(value);
  const size = Math.abs(value);
  return size >= 1e-3 && size < 1e5 ? numberFormat.format(value) : value.toExponential(2).replace(/\.?0+e/, "e");
};

/**
 * The series a running job writes, one small chart per column against the first, redrawn as points
 * arrive: a column of values above 0 spanning decades (a residual) on a log scale.
 */
export function SeriesPlots({ series }: { series: SeriesState }) {
  const points = useMemo(() => seriesPoints(series), [series]);
  const columns = series.columns ?? [];
  const [x, ...ys] = columns;
  if (!x || ys.length === 0) {
    return <p className="muted small">The series has no columns to plot yet.</p>;
  }
  if (points.length === 0) {
    return <p className="muted small">No points yet: they appear here as the run writes them.</p>;
  }
  const shown = ys.slice(0, MAX_CHARTS);
  return (
    <>
      <div className="series-grid">
        {shown.map((y) => (
          <SeriesChart key={y} points={points} x={x} y={y} color={COLORS[columns.indexOf(y) % COLORS.length]} />
        ))}
      </div>
      <p className="muted small series-note">
        {series.rows} {series.rows === 1 ? "point" : "points"}
        {points.length < series.rows && `, ${points.length} shown (evenly spread)`}
        {series.skipped && "; some were skipped to keep up with the run"}
        {series.headerLost && "; the header row is no longer kept, so columns are named by position"}
        {ys.length > shown.length && `; the first ${shown.length} of ${ys.length} columns are plotted`}
        {series.complete && ". The series is complete."}
      </p>
    </>
  );
}

function SeriesChart({ points, x, y, color }: { points: SeriesPoint[]; x: string; y: string; color: string }) {
  const scale = useMemo(() => {
    const values = points.map((point) => point[y]);
    if (!fitsLogScale(values)) return null;
    const present = values.filter((value): value is number => value !== null);
    return decades(Math.min(...present), Math.max(...present));
  }, [points, y]);
  const latest = [...points].reverse().find((point) => point[y] !== null)?.[y] ?? null;
  const label = `${y} against ${x}${scale ? " (log scale)" : ""}: ${points.length} points${
    latest !== null ? `, latest ${tick(latest)}` : ""
  }`;

  return (
    <figure className="plot-figure series-figure" aria-label={label} data-points={points.length}>
      <figcaption className="series-caption">
        <span className="swatch" style={{ background: color }} aria-hidden="true" />
        <span className="series-name">{y}</span>
        {scale && <span className="muted">log scale</span>}
        {latest !== null && (
          <span className="series-latest">
            latest <strong>{scale ? logTick(latest) : tick(latest)}</strong>
          </span>
        )}
      </figcaption>
      <ResponsiveContainer width="100%" height={200}>
        <LineChart data={points} margin={{ top: 8, right: 16, bottom: 20, left: 4 }}>
          <CartesianGrid stroke="#e6e8ee" />
          <XAxis
            dataKey={x}
            type="number"
            domain={["dataMin", "dataMax"]}
            tickFormatter={tick}
            label={{ value: x, position: "insideBottom", offset: -12, fill: "#5b6472", fontSize: 12 }}
            tick={{ fontSize: 11 }}
          />
          {scale ? (
            <YAxis
              scale="log"
              domain={[scale[0], scale[scale.length - 1]]}
              ticks={scale}
              allowDataOverflow
              tickFormatter={logTick}
              tick={{ fontSize: 11 }}
              width={64}
            />
          ) : (
            <YAxis domain={["auto", "auto"]} tickFormatter={tick} tick={{ fontSize: 11 }} width={64} />
          )}
          <Tooltip
            formatter={(value) => (scale ? logTick(value) : tick(value))}
            labelFormatter={(label) => `${x} = ${tick(label)}`}
            contentStyle={{ borderRadius: 8, borderColor: "#d5d9e2", fontSize: 13 }}
          />
          <Line
            dataKey={y}
            name={y}
            stroke={color}
            strokeWidth={2}
            dot={false}
            isAnimationActive={false}
            connectNulls
          />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
