"""The layering rule (faces on top, domain at the bottom, only the TUI imports Textual), as import-linter runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    proc = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_core_does_not_load_textual_or_reportlab() -> None:
    code = "import sys, ledger.facade, ledger.cli.main; print('textual' in sys.modules, 'reportlab' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    ).stdout
    assert out.strip() == "False False"
