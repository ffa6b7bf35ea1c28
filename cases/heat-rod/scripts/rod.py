"""Transient heat conduction in a rod with fixed end temperatures (Crank-Nicolson).

Standard library only. Reads params.json; writes temperature_history.csv and final_profile.csv.

While it runs it reports every few time steps, so that the run can be watched: a line on stdout, the
progress in $SIMGATE_PROGRESS_FILE, a row appended to $SIMGATE_SERIES_FILE (step, time_s, residual,
mid_temp_c) and profile.csv, the temperature along the rod at that moment. run_seconds spreads these
reports over about that many seconds of wall-clock time (0: as fast as possible); the results do not
depend on it. Outside simgate the two variables are unset and those two reports are skipped.
"""

import csv
import io
import json
import math
import os
import time

# conductivity W/(m K), diffusivity m2/s
MATERIALS = dict(
    [
        ("copper", (401.0, 1.11e-4)),
        ("aluminium", (237.0, 9.7e-5)),
        ("brass", (109.0, 3.4e-5)),
        ("carbon-steel", (54.0, 1.47e-5)),
        ("stainless-steel", (16.2, 4.2e-6)),
        ("glass", (1.05, 3.4e-7)),
    ]
)
TIME_STEPS = 400
HISTORY_ROWS = 100
SERIES_TERMS = 400
REPORTS_PER_SECOND = 3  # when paced: about this many reported steps a second
UNPACED_REPORTS = 40  # reported steps when run_seconds is 0
LIVE_PROFILE = "profile.csv"


def solve_tridiagonal(lower, diagonal, upper, rhs):
    """Thomas algorithm; all lists have the same length, lower[0] and upper[-1] unused."""
    n = len(rhs)
    c, d = [0.0] * n, [0.0] * n
    c[0], d[0] = upper[0] / diagonal[0], rhs[0] / diagonal[0]
    for i in range(1, n):
        m = diagonal[i] - lower[i] * c[i - 1]
        c[i] = upper[i] / m if i < n - 1 else 0.0
        d[i] = (rhs[i] - lower[i] * d[i - 1]) / m
    x = [0.0] * n
    x[-1] = d[-1]
    for i in range(n - 2, -1, -1):
        x[i] = d[i] - c[i] * x[i + 1]
    return x


def step(temps, r, theta, left, right):
    """One time step of the theta scheme (0.5: Crank-Nicolson, 1: implicit Euler) on the inner nodes."""
    inner = len(temps) - 2
    a = theta * r
    b = (1.0 - theta) * r
    rhs = [temps[i] + b * (temps[i - 1] - 2.0 * temps[i] + temps[i + 1]) for i in range(1, inner + 1)]
    rhs[0] += a * left
    rhs[-1] += a * right
    solved = solve_tridiagonal([-a] * inner, [1.0 + 2.0 * a] * inner, [-a] * inner, rhs)
    return [left] + solved + [right]


def exact(x, t, p, alpha):
    """Fourier-series solution for a uniform start and fixed ends."""
    length, left, right, start = p["length_m"], p["left_temp_c"], p["right_temp_c"], p["initial_temp_c"]
    steady = left + (right - left) * x / length
    a, b = start - left, -(right - left) / length
    total = 0.0
    for n in range(1, SERIES_TERMS + 1):
        sign = -1.0 if n % 2 else 1.0
        coefficient = 2.0 / (n * math.pi) * (a * (1.0 - sign) - b * length * sign)
        decay = math.exp(-alpha * (n * math.pi / length) ** 2 * t)
        if decay < 1e-300:
            break
        total += coefficient * math.sin(n * math.pi * x / length) * decay
    return steady + total


def report_count(run_seconds):
    """How many steps are reported: the divisor of TIME_STEPS nearest to REPORTS_PER_SECOND a second
    (so that each reported step covers the same number of time steps)."""
    target = REPORTS_PER_SECOND * run_seconds if run_seconds > 0 else UNPACED_REPORTS
    divisors = [d for d in range(1, TIME_STEPS + 1) if TIME_STEPS % d == 0]
    return min(divisors, key=lambda d: (abs(d - target), -d))


def write_atomically(path, text):
    """Replace the file at once: whoever reads it (the agent) sees the old or the new content, never a
    half-written one. The temporary file is in the same directory, hidden, and named so that no
    output pattern matches it."""
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, ".%s.%d.tmp" % (name, os.getpid()))
    with open(temporary, "w", newline="") as handle:
        handle.write(text)
    os.replace(temporary, path)


def csv_text(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


class Series:
    """$SIMGATE_SERIES_FILE: a header row, then one row per reported step, only ever appended."""

    def __init__(self, path, header):
        self.path = path
        if path and not (os.path.exists(path) and os.path.getsize(path) > 0):
            self.append(header)

    def append(self, row):
        if self.path:
            with open(self.path, "a") as handle:
                handle.write(",".join(str(value) for value in row) + "\n")


def main():
    with open("params.json") as handle:
        p = json.load(handle)
    conductivity, alpha = MATERIALS[p["material"]]
    nodes, length, duration = p["nodes"], p["length_m"], p["duration_s"]
    left, right = p["left_temp_c"], p["right_temp_c"]
    run_seconds = max(0.0, float(p.get("run_seconds", 0)))
    dx = length / (nodes - 1)
    dt = duration / TIME_STEPS
    r = alpha * dt / dx ** 2
    temps = [p["initial_temp_c"]] * nodes
    temps[0], temps[-1] = left, right
    xs = [i * dx for i in range(nodes)]
    quarter = [round(q * (nodes - 1)) for q in (0.25, 0.5, 0.75)]

    def history_row(t):
        flux_in_left = -conductivity * (temps[1] - temps[0]) / dx
        flux_in_right = -conductivity * (temps[-2] - temps[-1]) / dx
        return dict(
            time_s=round(t, 6),
            t_quarter_c=round(temps[quarter[0]], 4),
            t_middle_c=round(temps[quarter[1]], 4),
            t_three_quarter_c=round(temps[quarter[2]], 4),
            mean_c=round(sum(temps) / nodes, 4),
            heat_in_left_w_per_m2=round(flux_in_left, 3),
            heat_in_right_w_per_m2=round(flux_in_right, 3),
        )

    reports = report_count(run_seconds)
    per_report = TIME_STEPS // reports
    progress_file = os.environ.get("SIMGATE_PROGRESS_FILE")
    series = Series(os.environ.get("SIMGATE_SERIES_FILE"), ["step", "time_s", "residual", "mid_temp_c"])

    def report(k, message):
        if progress_file:
            write_atomically(progress_file, "%s %s" % (round(k / reports, 4), message))
        write_atomically(LIVE_PROFILE, csv_text(["x_m", "temperature_c"],
                                                [[round(x, 6), round(t, 4)] for x, t in zip(xs, temps)]))

    print("%s rod, %g m, %d points: %d time steps of %g s, reported every %d (%d reports)%s"
          % (p["material"], length, nodes, TIME_STEPS, dt, per_report, reports,
             " over about %g s" % run_seconds if run_seconds else ""), flush=True)
    report(0, "starting")
    started = time.monotonic()
    history = [history_row(0.0)]
    every = max(1, TIME_STEPS // HISTORY_ROWS)
    for n in range(1, TIME_STEPS + 1):
        previous = temps
        temps = step(temps, r, 1.0 if n <= 2 else 0.5, left, right)
        if n % every == 0:
            history.append(history_row(n * dt))
        if n % per_report:
            continue
        # the residual: the largest change of temperature in the last time step (K), which falls
        # towards 0 as the rod approaches its steady state
        residual = max(abs(a - b) for a, b in zip(temps, previous))
        k = n // per_report
        wait = started + k * run_seconds / reports - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        middle = temps[quarter[1]]
        print("step %d/%d  t=%g s  residual=%.2e K  T(middle)=%.2f C" % (k, reports, round(n * dt, 6), residual,
                                                                        middle), flush=True)
        series.append([k, round(n * dt, 6), "%.6g" % residual, round(middle, 4)])
        report(k, "step %d of %d" % (k, reports))

    profile = [
        dict(
            x_m=round(x, 6),
            temperature_c=round(t, 4),
            exact_c=round(exact(x, duration, p, alpha), 4),
            steady_state_c=round(left + (right - left) * x / length, 4),
        )
        for x, t in zip(xs, temps)
    ]
    for name, rows in (("temperature_history.csv", history), ("final_profile.csv", profile)):
        with open(name, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    worst = max(abs(row["temperature_c"] - row["exact_c"]) for row in profile)
    print("%s rod, %g m, after %g s: middle at %.2f C (exact %.2f C); largest difference from the exact "
          "solution %.3f K" % (p["material"], length, duration, profile[quarter[1]]["temperature_c"],
                               profile[quarter[1]]["exact_c"], worst))


if __name__ == "__main__":
    main()
