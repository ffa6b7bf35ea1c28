"""Smoothie blender model: mixing, breakdown and warming of a blended smoothie over time.

Standard library only. Writes results/homogeneity.csv, results/particle_profile.csv and
results/summary.json; see the case description for the model.
"""

import argparse
import csv
import json
import math
import os

JAR_DIAMETER_M = 0.12
BLADE_DIAMETER_M = 0.04
START_PIECE_MM = 20.0
START_TEMPERATURE_C = 5.0
HEAT_CAPACITY_J_PER_KG_K = 3800.0
BOILING_C = 100.0
MOTOR_POWER_W = 2000.0
TURBULENT_RE = 6370.0
SAMPLES = 100

# density kg/m3, toughness J/kg, finest piece mm (seeds, fibres), Rosin-Rammler spread
FRUIT = dict(
    [
        ("strawberry-banana", (1060.0, 8e3, 0.08, 1.4)),
        ("mango-pineapple", (1070.0, 15e3, 0.15, 1.1)),
        ("mixed-berries", (1050.0, 12e3, 0.40, 1.0)),
        ("kale-apple", (1040.0, 25e3, 0.20, 0.9)),
    ]
)


def blend(speed_rpm, duration_s, fruit_mix, viscosity_pa_s, volume_l):
    density, toughness, finest_mm, spread = FRUIT[fruit_mix]
    d = BLADE_DIAMETER_M

    def flow(n):
        reynolds = density * n * d * d / viscosity_pa_s
        power_number = 1.3 + 70.0 / reynolds
        return reynolds, power_number, power_number * density * n ** 3 * d ** 5

    n = speed_rpm / 60.0
    if flow(n)[2] > MOTOR_POWER_W:  # the motor cannot deliver: it slows down until it can
        low, high = 0.0, n
        for _ in range(60):
            n = (low + high) / 2
            low, high = (n, high) if flow(n)[2] < MOTOR_POWER_W else (low, n)
        n = low
    reynolds, power_number, power_w = flow(n)
    mass_kg = density * volume_l / 1000.0
    t95_s = 5.2 * (JAR_DIAMETER_M / d) ** 2 / (n * power_number ** (1.0 / 3.0)) * max(1.0, TURBULENT_RE / reynolds)

    def state(t):
        energy = power_w * t / mass_kg
        return dict(
            time_s=round(t, 3),
            homogeneity=round(1.0 - math.exp(-math.log(20.0) * t / t95_s), 6),
            median_piece_mm=round(finest_mm + (START_PIECE_MM - finest_mm) * math.exp(-energy / toughness), 4),
            temperature_c=round(min(BOILING_C, START_TEMPERATURE_C + energy / HEAT_CAPACITY_J_PER_KG_K), 3),
            power_w=round(power_w, 2),
            blade_speed_rpm=round(n * 60.0, 1),
        )

    series = [state(duration_s * i / SAMPLES) for i in range(SAMPLES + 1)]
    median = series[-1]["median_piece_mm"]
    x63 = median / math.log(2.0) ** (1.0 / spread)
    profile = []
    for i in range(41):
        size = 0.01 * 10 ** (i * 0.1)  # 0.01 mm to 100 mm, ten points a decade
        passing = 100.0 * (1.0 - math.exp(-((size / x63) ** spread)))
        profile.append(dict(size_mm=round(size, 5), percent_passing=round(passing, 4)))
    summary = dict(
        reynolds_number=round(reynolds, 1),
        regime="turbulent" if reynolds >= TURBULENT_RE else "transitional" if reynolds >= 10 else "laminar",
        power_number=round(power_number, 3),
        blade_speed_rpm=round(n * 60.0, 1),
        motor_limited=n * 60.0 < speed_rpm - 0.5,
        mixing_time_95_s=round(t95_s, 3),
        power_w=round(power_w, 1),
        final=series[-1],
    )
    return series, profile, summary


def write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speed-rpm", type=float, required=True)
    parser.add_argument("--duration-s", type=float, required=True)
    parser.add_argument("--fruit-mix", choices=sorted(FRUIT), required=True)
    parser.add_argument("--viscosity-pa-s", type=float, required=True)
    parser.add_argument("--volume-l", type=float, required=True)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", default="results")
    args = parser.parse_args()

    series, profile, summary = blend(args.speed_rpm, args.duration_s, args.fruit_mix,
                                     args.viscosity_pa_s, args.volume_l)
    os.makedirs(args.out, exist_ok=True)
    write_csv(os.path.join(args.out, "homogeneity.csv"), series)
    write_csv(os.path.join(args.out, "particle_profile.csv"), profile)
    summary = dict(summary, label=args.label, inputs=vars(args))
    with open(os.path.join(args.out, "summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    final = series[-1]
    print("blended %s for %g s at %g rpm: homogeneity %.3f, median piece %.2f mm, %.1f C"
          % (args.fruit_mix, args.duration_s, args.speed_rpm, final["homogeneity"],
             final["median_piece_mm"], final["temperature_c"]))


if __name__ == "__main__":
    main()
