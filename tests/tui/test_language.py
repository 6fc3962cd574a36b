"""Both languages, all the way: every label the UI code asks for exists in the catalogue (a missing one would show
its key), no screen shows markup as text in either language, F10 help lists only the app's own keys, and F11
switches the language (the app restarts in it and the local ledger.toml remembers it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ledger.facade import Ledger
from ledger.tui import i18n
from ledger.tui.app import RELAUNCH, LedgerApp
from ledger.tui.launch import remember_language
from tests.factories import add_borrower, relending, setup_bank
from tests.tui.conftest import TODAY, drive, settle

TUI = Path(__file__).resolve().parents[2] / "ledger" / "tui"
MARKUP = re.compile(r"\[/?(?:b|u|i|dim|red|green|yellow|bold)[^\]]*\]")
KEY_SHOWN = re.compile(
    r"\b(?:col|dd|dash|form|rules|pend|ev|ref|rep|nav|common|audit|help|status)\.[a-z_]+\b"
)


def _label_keys_in_code() -> set[str]:
    keys: set[str] = set()
    for path in TUI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                keys.add(node.args[0].value)
    return keys


def test_every_label_the_code_uses_is_in_both_languages() -> None:
    keys = _label_keys_in_code()
    assert len(keys) > 100  # the scan found the UI's labels
    missing = sorted(key for key in keys if key not in i18n.LABELS)
    assert not missing, missing
    for key in keys:
        zh, en = i18n.LABELS[key]
        assert (zh.strip() and en.strip()) or key == "rules.headroom.none", key


@pytest.mark.parametrize("lang", ["zh", "en"])
@drive
async def test_no_markup_or_label_key_on_screen(ledger: Ledger, lang: str) -> None:
    setup_bank(ledger)
    ledger.book(relending(add_borrower(ledger, 1)))
    i18n.set_language(lang)
    try:
        for start in ("dashboard", "drawdowns", "rules", "pending", "audit", "new"):
            app = LedgerApp(ledger, today=TODAY, start=start)
            async with app.run_test(size=(160, 50)) as pilot:
                await settle(pilot)
                text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
                assert not MARKUP.search(text), f"{lang} {start}: markup shown as text:\n{text}"
                assert not KEY_SHOWN.search(text), f"{lang} {start}: a label key shown:\n{text}"
    finally:
        i18n.set_language("zh")


@drive
async def test_help_lists_the_apps_own_keys(ledger: Ledger) -> None:
    app = LedgerApp(ledger, today=TODAY, start="drawdowns")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "冲正" in text and "仪表盘" in text and "切换语言" in text
        # Textual's own widget keys (English, untranslated) are not listed.
        for internal in ("Cursor", "Delete", "Paste", "Copy", " palette"):
            assert internal not in text, internal


@drive
async def test_f11_switches_language_and_reopens_the_same_screen(ledger: Ledger) -> None:
    app = LedgerApp(ledger, today=TODAY, start="rules")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f11")
        await settle(pilot)
    assert app.return_value == RELAUNCH
    assert app.next_language == ("en" if i18n.language() == "zh" else "zh")
    assert app.relaunch_mode == "rules"


def test_language_choice_is_remembered_in_the_local_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ledger.toml"
    monkeypatch.setenv("LEDGER_CONFIG", str(config))
    assert remember_language("en") is None and not config.exists()  # never creates one
    config.write_text("# local preferences\n", encoding="utf-8")
    remember_language("en")
    assert 'lang = "en"' in config.read_text(encoding="utf-8")
    remember_language("zh")
    text = config.read_text(encoding="utf-8")
    assert 'lang = "zh"' in text and 'lang = "en"' not in text and text.count("[ui]") == 1
    from ledger.config import load_local

    assert load_local(str(config))[0].lang == "zh"
