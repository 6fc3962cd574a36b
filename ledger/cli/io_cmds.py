"""Command group placeholder: filled by the issue that owns it."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds this group's subcommands to the `ledger` parser."""
