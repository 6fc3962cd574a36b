#!/usr/bin/env bash
# Creates .venv with Python ≥ 3.11 and installs the project into it (editable). Sourced by run.sh and test.sh.
# Usage: source scripts/bootstrap.sh [extras]   e.g. "dev"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="${1:-}"
PY=""
for candidate in python3.13 python3.12 python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
        PY="$candidate"; break
    fi
done
if [ -z "$PY" ]; then
    echo "需要 Python 3.11 或更高版本 (Python >= 3.11 is required)" >&2
    exit 1
fi
if [ ! -x "$ROOT/.venv/bin/python" ]; then
    "$PY" -m venv "$ROOT/.venv"
fi
VENV_PY="$ROOT/.venv/bin/python"
STAMP="$ROOT/.venv/.installed-${EXTRAS:-base}"
# Reinstall only when pyproject.toml changed since the last install (fast second runs).
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    "$VENV_PY" -m pip install --quiet --upgrade pip >/dev/null
    if [ -n "$EXTRAS" ]; then
        "$VENV_PY" -m pip install --quiet -e "$ROOT[$EXTRAS]"
    else
        "$VENV_PY" -m pip install --quiet -e "$ROOT"
    fi
    touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
