#!/usr/bin/env bash
# One command on a fresh machine: set up and run the whole suite (lint, types, layering, tests on both backends).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh dev

# PostgreSQL: on CI it must run, never skip. Start the local cluster if it is down.
if [ "${CI:-}" = "true" ] && [ -z "${LEDGER_TEST_PG_URL:-}" ]; then
    if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
        for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 1; done
    fi
fi

echo "== ruff"
ruff check ledger tests benchmarks
ruff format --check ledger tests benchmarks
echo "== mypy"
mypy ledger tests
echo "== import contracts"
lint-imports --no-cache >/dev/null && echo "contracts kept"
echo "== pytest"
python -m pytest -p no:cacheprovider "$@"
