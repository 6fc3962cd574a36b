"""The newcomer's first command, `bash run.sh`, end to end without a terminal: it sets up, fills an empty ledger
with demo data once, and shows the opening figures instead of the UI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_run_sh_loads_demo_data_once_and_reports(tmp_path: Path) -> None:
    env = {**os.environ, "LEDGER_DB": str(tmp_path / "ledger.db"), "DEMO_DRAWDOWNS": "1500"}
    first = subprocess.run(
        ["bash", "run.sh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    assert "演示数据已载入" in first.stdout and "1500 笔发放" in first.stdout
    assert "余额 (outstanding)" in first.stdout and "重点领域占比" in first.stdout
    second = subprocess.run(
        ["bash", "run.sh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )
    assert second.returncode == 0 and "演示数据已载入" not in second.stdout  # the demo is loaded once
