#!/usr/bin/env bash
# Runs the README's commands, in the README's order, on a fresh clone of this repository (issue #17).
# Each must succeed as written. Nothing outside a temporary folder is touched: the clone, its data
# directory (XDG_DATA_HOME) and the simulator all live there, on free loopback ports.
#
#   scripts/check_readme.sh                 # installs with `make` in the clone (needs PyPI)
#   PYTHON_ENV=/path/to/venv scripts/check_readme.sh   # reuse an environment that has the dependencies
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
export XDG_DATA_HOME="$work/data" NO_COLOR=1 COLUMNS=100
unset RMMBRIDGE_DATA_DIR RMMBRIDGE_DATABASE_URL RMMBRIDGE_SECRET_KEY RMMBRIDGE_SECRET_KEY_FILE || true
if [[ -n "${PYTHON_ENV:-}" ]]; then
  # The clone's sources on an existing environment: the `.venv/bin/rmmbridge` of the README.
  mkdir -p .venv/bin
  printf '#!/bin/sh\nPYTHONPATH="%s/src" exec "%s/bin/python" -m rmmbridge "$@"\n' "$PWD" "$PYTHON_ENV" > .venv/bin/rmmbridge
  chmod +x .venv/bin/rmmbridge
else
  make .venv/.installed
fi
. .venv/bin/activate 2>/dev/null || export PATH="$PWD/.venv/bin:$PATH"
step() { printf '\n$ %s\n' "$*"; "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Quick start and configuration.
step rmmbridge config >/dev/null
step rmmbridge db upgrade
# Administration from the command line.
step rmmbridge tenant create "Acme MSP"
printf 'correct horse battery staple\n' | step rmmbridge user create --tenant "Acme MSP" --email admin@acme.example --role admin
printf 'another good passphrase\n' | step rmmbridge user create --tenant "Acme MSP" --email tech@acme.example --role viewer
step rmmbridge token create --email admin@acme.example --name automation
step rmmbridge user list
step rmmbridge user set-role tech@acme.example technician
step rmmbridge token list
token_id="$(rmmbridge token list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
step rmmbridge token revoke "$token_id"
# Without a real RMM: the simulator section, then the Tactical flow of the README.
export RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS=true
port="$(free_port)"
rmmbridge simulate tacticalrmm --port "$port" --clients 3 --agents 60 > "$work/sim.log" 2>&1 &
for _ in $(seq 1 100); do grep -q "http://" "$work/sim.log" 2>/dev/null && break; sleep 0.2; done
key="$(PYTHONPATH="$PWD/src" "${PYTHON_ENV:-$PWD/.venv}/bin/python" -c 'from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS as c; print(c.api_key)')"
printf '%s\n' "$key" | step rmmbridge integrations add tacticalrmm --name "Tactical lab" --url "http://127.0.0.1:$port" \
    --allow-insecure-url --auth-mode api_key
step rmmbridge integrations test tacticalrmm
step rmmbridge sync run tacticalrmm scopes --wait
step rmmbridge mappings list tacticalrmm
first_org="$(rmmbridge mappings list tacticalrmm --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["external_org_id"])')"
step rmmbridge mappings create-client tacticalrmm "$first_org"
step rmmbridge sync run tacticalrmm devices --wait
step rmmbridge assets list --agent-status overdue
step rmmbridge integrations rotate-webhook-secret tacticalrmm
step rmmbridge integrations webhook tacticalrmm >/dev/null
step rmmbridge assets summary
step rmmbridge assets list --needs-reboot --failing-checks
step rmmbridge integrations schedule tacticalrmm
step rmmbridge integrations schedule tacticalrmm liveness 60s
printf '\nREADME commands: all succeeded\n'
