"""`ledger` and `ledger tui` open the app; labels exist in both languages; English is chosen by LEDGER_LANG."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.cli import main as cli_main
from ledger.tui import i18n
from ledger.tui.app import LedgerApp

ROOT = Path(__file__).resolve().parents[2]


def test_every_label_has_both_languages_with_the_same_placeholders() -> None:
    for key, (zh, en) in i18n.LABELS.items():
        assert (zh.strip() and en.strip()) or key == "rules.headroom.none", key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key


def test_english_interface_by_environment() -> None:
    code = (
        "import os; os.environ['LEDGER_LANG'] = 'en'\n"
        "from ledger.tui.app import LedgerApp\n"
        "print([b.description for b in LedgerApp.BINDINGS if b.id and b.id.startswith('nav.')][:2])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "['Dashboard', 'Drawdowns']", out.stderr


def test_chinese_by_default() -> None:
    assert i18n.language() in ("zh", "en")
    i18n.set_language("zh")
    assert i18n.t("nav.drawdowns") == "台账"
    assert i18n.t("dd.count", count="1,000") == "共 1,000 笔"
    i18n.set_language("en")
    assert i18n.t("dd.count", count="1,000") == "1,000 drawdowns"
    i18n.set_language("zh")


@pytest.mark.parametrize("argv", [[], ["tui"], ["tui", "--today", "2023-06-15", "--screen", "drawdowns"]])
def test_ledger_alone_and_ledger_tui_open_the_app(
    argv: list[str], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[LedgerApp] = []

    def fake_run(self: LedgerApp) -> int:
        opened.append(self)
        return 0

    monkeypatch.setattr(LedgerApp, "run", fake_run)
    assert cli_main.main(["--db", db_url, *argv]) == 0
    assert len(opened) == 1
    if "--today" in argv:
        assert opened[0].today.isoformat() == "2023-06-15" and opened[0].start_mode == "drawdowns"


def test_bad_today_is_a_usage_error(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["--db", db_url, "tui", "--today", "15/06/2023"]) == 2
    assert "--today" in capsys.readouterr().err
