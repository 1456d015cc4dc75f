#!/usr/bin/env bash
# Make sure the local PostgreSQL answers on 127.0.0.1:5432 and NATS (with JetStream) on
# 127.0.0.1:4222: each is started if installed but stopped.
set -uo pipefail

# NATS first (the PostgreSQL part exits early). Its half of the tests fails in CI when missing.
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
if ! nats_up; then
  if command -v nats-server >/dev/null 2>&1; then
    store="${TMPDIR:-/tmp}/rmmbridge-nats"
    mkdir -p "$store"
    nohup nats-server -js -a 127.0.0.1 -p 4222 -sd "$store" >"$store/server.log" 2>&1 &
    for _ in $(seq 1 20); do nats_up && break; sleep 0.5; done
  fi
  nats_up || echo "NATS is not reachable on 127.0.0.1:4222; its tests will $( [ "${CI:-}" = true ] && echo fail || echo be skipped )." >&2
fi

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done
fi
echo "PostgreSQL is not reachable on 127.0.0.1:5432; its half of the tests will $( [ "${CI:-}" = true ] && echo fail || echo be skipped )." >&2
exit 0
