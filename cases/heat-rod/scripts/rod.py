"""Transient heat conduction in a rod with fixed end temperatures (Crank-Nicolson).

Standard library only. Reads params.json; writes temperature_history.csv and final_profile.csv.
"""

import csv
import json
import math

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


def main():
    with open("params.json") as handle:
        p = json.load(handle)
    conductivity, alpha = MATERIALS[p["material"]]
    nodes, length, duration = p["nodes"], p["length_m"], p["duration_s"]
    left, right = p["left_temp_c"], p["right_temp_c"]
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

    history = [history_row(0.0)]
    every = max(1, TIME_STEPS // HISTORY_ROWS)
    for n in range(1, TIME_STEPS + 1):
        temps = step(temps, r, 1.0 if n <= 2 else 0.5, left, right)
        if n % every == 0:
            history.append(history_row(n * dt))

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
