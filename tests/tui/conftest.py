"""Helpers for driving the TUI: a fixed "today", an app on the test ledger, and waiting until the database
workers have answered (the UI never waits on the database, so a test has to)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

from textual.pilot import Pilot

TODAY = date(2023, 6, 15)


async def settle(pilot: Pilot[Any], rounds: int = 4) -> None:
    """Lets timers fire (debounces are ≤ 0.35 s), workers finish and their messages be handled."""
    for _ in range(rounds):
        await pilot.pause(0.12)
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def drive(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Runs an async pilot test in its own event loop (no async pytest plugin needed); fixtures pass through
    because pytest reads the wrapped signature."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run
