#!/usr/bin/env bash
# One command on a fresh machine: set up, create ./ledger.db with demo data (first run only), open the ledger.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
export LEDGER_DB="${LEDGER_DB:-ledger.db}"
ledger init >/dev/null
if [ "$(ledger sql 'SELECT COUNT(*) AS n FROM drawdown' --format csv | tail -n 1 | tr -d '\r')" = "0" ]; then
    ledger demo --drawdowns "${DEMO_DRAWDOWNS:-20000}" --years 2
fi
if [ -t 0 ] && [ -t 1 ]; then
    exec ledger tui "$@"
fi
# No terminal (a script or CI): show what the opening screen would.
ledger outstanding
ledger check share --year "$(date +%Y)" || true
