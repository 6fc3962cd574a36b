"""Command-palette provider (ctrl+p): navigation everywhere, plus what the current screen offers.

Posting's idea: the palette only lists commands that make sense where the operator is, so a screen contributes
its own through `palette_commands()` (e.g. "冲正" on the drawdown list, "执行" in the SQL console).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ledger.tui.i18n import t


class LedgerCommands(Provider):
    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        from ledger.tui.app import NAV_KEYS, NAV_LABELS

        app: Any = self.app
        out: list[tuple[str, str, Callable[[], Any]]] = []
        screen_commands = getattr(self.screen, "palette_commands", None)
        if callable(screen_commands):
            out.extend(screen_commands())
        for key, mode in NAV_KEYS:
            out.append((t(NAV_LABELS[mode]), key.upper(), partial(app.action_open, mode)))
        out.append((t("nav.jump"), "Ctrl+G", app.action_jump))
        out.append((t("nav.help"), "F10", app.action_help))
        out.append((t("nav.language"), "F11", app.action_switch_language))
        return out

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
