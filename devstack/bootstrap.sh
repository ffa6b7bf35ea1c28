#!/usr/bin/env bash
# Installs what the local stack and the tests need, skipping whatever is already there:
# Debian packages (when root or with passwordless sudo), Azurite from package-lock.json,
# the web app's packages from web/package-lock.json, and a Python virtual environment with
# requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(openssh-server openssh-client slurmctld slurmd slurm-client munge chromium)
PYTHON=${PYTHON:-python3}

missing_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing_apt+=("$pkg")
done
if ((${#missing_apt[@]})); then
  if [[ $(id -u) -eq 0 ]]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; else as_root="no"; fi
  if [[ $as_root != no ]]; then
    echo "installing Debian packages: ${missing_apt[*]}"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
  else
    echo "warning: please install these Debian packages (needs root): ${missing_apt[*]}" >&2
  fi
fi

if [[ ! -x node_modules/.bin/azurite || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing Azurite (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --ignore-scripts: the Static Web Apps CLI's optional keychain module cannot be built offline; only
# `swa login` and `swa deploy` need it.
if [[ ! -x web/node_modules/.bin/swa || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  echo "installing the web app's packages (npm ci in web/)"
  (cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements-installed
if [[ ! -f $stamp || requirements.txt -nt $stamp || requirements-dev.txt -nt $stamp || pyproject.toml -nt $stamp ]]; then
  echo "installing Python requirements and the simgate command"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
  touch "$stamp"
fi

# checkov (infra checks) pins packages that clash with the app's, so it gets its own environment.
if [[ ! -x .venv-checkov/bin/checkov || requirements-checkov.txt -nt .venv-checkov/.installed ]]; then
  echo "installing checkov into .venv-checkov"
  "$PYTHON" -m venv .venv-checkov
  .venv-checkov/bin/python -m pip install -q --disable-pip-version-check -r requirements-checkov.txt
  touch .venv-checkov/.installed
fi
