"""Runs the app, and runs it again in the other language when the operator switches (F11 or the palette).

Every label is taken from the catalogue when its screen class is built, so a switch starts a fresh app: the
language is set, the UI modules are imported anew, and the app reopens on the screen the operator was on. The
choice is written to the local ledger.toml ([ui] lang) when one is in use, so the next session opens in it too.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from datetime import date
from importlib import import_module
from pathlib import Path

from ledger.facade import Ledger

UI_LANG = re.compile(r"(?m)^(\s*lang\s*=\s*)\"(zh|en)\"")


def remember_language(lang: str) -> str | None:
    """Records `lang` in the local config file in use (never creates one); returns its path, or None."""
    from ledger.config import local_config_path

    chosen = local_config_path()
    if chosen is None or not Path(chosen).is_file():
        return None
    text = Path(chosen).read_text(encoding="utf-8")
    if UI_LANG.search(text):
        text = UI_LANG.sub(lambda m: f'{m.group(1)}"{lang}"', text, count=1)
    elif re.search(r"(?m)^\[ui\]\s*$", text):
        text = re.sub(r"(?m)^\[ui\]\s*$", f'[ui]\nlang = "{lang}"', text, count=1)
    else:
        text = text.rstrip("\n") + f'\n\n[ui]\nlang = "{lang}"\n'
    Path(chosen).write_text(text, encoding="utf-8")
    return chosen


def _fresh_ui_modules() -> None:
    """Forgets the imported UI modules (not this one), so the next import builds labels in the new language."""
    for name in [n for n in sys.modules if n.startswith("ledger.tui.") and n != __name__]:
        del sys.modules[name]
    sys.modules.pop("ledger.tui", None)


def run(ledger: Ledger, today: date | None, start: str) -> int:
    while True:
        app_module = import_module("ledger.tui.app")
        app = app_module.LedgerApp(ledger, today=today, start=start)
        result = app.run()
        if result != app_module.RELAUNCH or not app.next_language:
            return int(result or 0)
        os.environ["LEDGER_LANG"] = app.next_language
        with contextlib.suppress(OSError):  # a read-only config file: the switch still holds for this session
            remember_language(app.next_language)
        start = app.relaunch_mode or start
        _fresh_ui_modules()
