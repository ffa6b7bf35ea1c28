import { useId, useMemo, useState } from "react";
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { defaultSeries, downsample, toPoints, type CsvData } from "./csv";

const COLORS = ["#1f4fd1", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#e67700", "#495057"];
const MAX_POINTS = 2000;

type Axis = "left" | "right";

const numberFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 4 });
const tick = (value: unknown) => (typeof value === "number" ? numberFormat.format(value) : String(value));

/**
 * A line chart of any CSV: the user picks the x column and one or more y columns, each on the left
 * or right axis. The data may change under it (a live file taken again): the choices stay.
 */
export function CsvPlot({ data, title, height = 340 }: { data: CsvData; title: string; height?: number }) {
  const id = useId();
  const numeric = data.numericColumns;
  const [pickedX, setX] = useState<string | null>(null);
  const x = pickedX !== null && numeric.includes(pickedX) ? pickedX : (numeric[0] ?? "");
  const [picked, setSeries] = useState<Record<string, Axis> | null>(null);
  const series = useMemo(
    () => picked ?? Object.fromEntries(defaultSeries(numeric, x).map((c) => [c, "left" as Axis])),
    [picked, numeric, x],
  );

  const points = useMemo(() => downsample(toPoints(data.rows, x, numeric), MAX_POINTS), [data.rows, x, numeric]);
  const total = useMemo(() => data.rows.filter((row) => row[x] !== undefined && row[x].trim() !== "").length, [data.rows, x]);

  if (numeric.length < 2) {
    return <p className="muted">Nothing to plot: the file needs at least two columns of numbers.</p>;
  }

  const chosen = Object.entries(series).filter(([column]) => column !== x);
  const usesRight = chosen.some(([, axis]) => axis === "right");
  const toggle = (column: string, on: boolean) => {
    const next = { ...series };
    if (on) next[column] = "left";
    else delete next[column];
    setSeries(next);
  };
  const description = chosen.length
    ? `${chosen.map(([c]) => c).join(", ")} against ${x}`
    : `no column chosen for the y axis`;

  return (
    <div className="plot">
      <div className="plot-controls">
        <div className="filter">
          <label htmlFor={`${id}-x`}>X axis</label>
          <select id={`${id}-x`} className="input" value={x} onChange={(e) => setX(e.target.value)}>
            {numeric.map((column) => (
              <option key={column} value={column}>
                {column}
              </option>
            ))}
          </select>
        </div>
        <fieldset className="plot-series">
          <legend>Y axis columns</legend>
          <ul>
            {numeric
              .filter((column) => column !== x)
              .map((column) => {
                const boxId = `${id}-y-${column}`;
                const axis = series[column];
                const color = COLORS[numeric.indexOf(column) % COLORS.length];
                return (
                  <li key={column} className="plot-series-item">
                    <input
                      id={boxId}
                      type="checkbox"
                      className="checkbox"
                      checked={!!axis}
                      onChange={(e) => toggle(column, e.target.checked)}
                    />
                    <label htmlFor={boxId}>
                      <span className="swatch" style={{ background: color }} aria-hidden="true" />
                      {column}
                    </label>
                    {axis && (
                      <select
                        className="input input-small"
                        aria-label={`Axis for ${column}`}
                        value={axis}
                        onChange={(e) => setSeries({ ...series, [column]: e.target.value as Axis })}
                      >
                        <option value="left">left axis</option>
                        <option value="right">right axis</option>
                      </select>
                    )}
                  </li>
                );
              })}
          </ul>
        </fieldset>
      </div>
      <figure className="plot-figure" aria-label={`Plot of ${title}: ${description}`} data-points={points.length}>
        {chosen.length === 0 ? (
          <p className="plot-empty muted">Choose one or more y columns to plot.</p>
        ) : (
          <ResponsiveContainer width="100%" height={height}>
            <LineChart data={points} margin={{ top: 8, right: usesRight ? 8 : 24, bottom: 24, left: 8 }}>
              <CartesianGrid stroke="#e6e8ee" />
              <XAxis
                dataKey={x}
                type="number"
                domain={["dataMin", "dataMax"]}
                tickFormatter={tick}
                label={{ value: x, position: "insideBottom", offset: -14, fill: "#5b6472", fontSize: 12 }}
                tick={{ fontSize: 12 }}
              />
              <YAxis yAxisId="left" tickFormatter={tick} tick={{ fontSize: 12 }} width={56} />
              {usesRight && (
                <YAxis yAxisId="right" orientation="right" tickFormatter={tick} tick={{ fontSize: 12 }} width={56} />
              )}
              <Tooltip
                formatter={(value) => tick(value)}
                labelFormatter={(label) => `${x} = ${tick(label)}`}
                contentStyle={{ borderRadius: 8, borderColor: "#d5d9e2", fontSize: 13 }}
              />
              <Legend verticalAlign="top" height={28} wrapperStyle={{ fontSize: 13 }} />
              {chosen.map(([column, axis]) => (
                <Line
                  key={column}
                  yAxisId={axis}
                  dataKey={column}
                  name={axis === "right" ? `${column} (right)` : column}
                  stroke={COLORS[numeric.indexOf(column) % COLORS.length]}
                  strokeWidth={2}
                  dot={false}
                  isAnimationActive={false}
                  connectNulls
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
        )}
        <figcaption className="muted small">
          {description}
          {points.length < total && ` · ${points.length} of ${total} points shown`}
        </figcaption>
      </figure>
    </div>
  );
}
