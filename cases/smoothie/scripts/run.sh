#!/bin/sh
# Entry point: every value below is quoted for the shell when the job is made.
set -eu
exec "${PYTHON:-python3}" smoothie.py \
    --speed-rpm {{ speed_rpm }} \
    --duration-s {{ duration_s }} \
    --fruit-mix {{ fruit_mix }} \
    --viscosity-pa-s {{ viscosity_pa_s }} \
    --volume-l {{ volume_l }} \
    --label {{ batch_label }} \
    --out results
