"""Project configuration (TOML): the key-area definition, the threshold, tool quotas and rates, authority limits.

Read once per process from --config, LEDGER_CONFIG or ./ledger.toml, over the packaged defaults, so an operator
changes policy by editing a file, never code.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.domain.key_area import KeyAreaDefinition
from ledger.tools import BUILT_IN, RATE_TABLES, Catalogue


class ConfigError(ValueError):
    """The configuration file breaks a rule; the message names the key."""


@dataclass(frozen=True)
class Config:
    threshold: Decimal = Decimal("0.50")
    key_areas: KeyAreaDefinition = field(default_factory=KeyAreaDefinition)
    inclusive_max_yuan: Decimal = Decimal("10000000")
    catalogue: Catalogue = field(default_factory=Catalogue)
    approval_limit_yuan: Decimal | None = None
    approval_limits_by_tool: dict[str, Decimal] = field(default_factory=dict)
    source: str = "defaults"

    def approval_limit(self, tool_code: str) -> Decimal | None:
        return self.approval_limits_by_tool.get(tool_code, self.approval_limit_yuan)


def _decimal(value: Any, key: str) -> Decimal:
    if isinstance(value, float):
        raise ConfigError(f'{key}: write amounts and rates as strings ("0.50"), not floats')
    try:
        return Decimal(str(value))
    except Exception as exc:
        raise ConfigError(f"{key}: not a number: {value!r}") from exc


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = (
            _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def config_from_dict(data: dict[str, Any], source: str = "dict") -> Config:
    share = data.get("share", {})
    key_areas = KeyAreaDefinition(
        statuses=tuple(share.get("statuses", KeyAreaDefinition().statuses)),
        manufacturing=bool(share.get("manufacturing", True)),
        high_tech_manufacturing=bool(share.get("high_tech_manufacturing", True)),
        industry_prefixes=tuple(share.get("industry_prefixes", ())),
    )
    tools = []
    tool_settings: dict[str, Any] = data.get("tools", {})
    known = {t.code for t in BUILT_IN}
    for code in tool_settings:
        if code not in known:
            raise ConfigError(f"tools.{code}: no such tool code (known: {', '.join(sorted(known))})")
    for tool in BUILT_IN:
        settings = tool_settings.get(tool.code, {})
        changes: dict[str, Any] = {}
        if "rate_table" in settings:
            name = settings["rate_table"]
            if name not in RATE_TABLES:
                raise ConfigError(
                    f"tools.{tool.code}.rate_table: unknown table {name!r} ({', '.join(RATE_TABLES)})"
                )
            changes["rate_table"] = RATE_TABLES[name]
        for key in ("annual_quota_yuan", "balance_cap_yuan", "lend_rate_cap"):
            if key in settings:
                changes[key] = _decimal(settings[key], f"tools.{tool.code}.{key}")
        tools.append(tool.configured(**changes) if changes else tool)
    mc = data.get("maker_checker", {})
    limit = mc.get("default_limit_yuan")
    return Config(
        threshold=_decimal(share.get("threshold", "0.50"), "share.threshold"),
        key_areas=key_areas,
        inclusive_max_yuan=_decimal(
            data.get("inclusive", {}).get("max_per_borrower_yuan", "10000000"), "inclusive"
        ),
        catalogue=Catalogue(tuple(tools)),
        approval_limit_yuan=None if limit is None else _decimal(limit, "maker_checker.default_limit_yuan"),
        approval_limits_by_tool={
            k: _decimal(v, f"maker_checker.tools.{k}") for k, v in mc.get("tools", {}).items()
        },
        source=source,
    )


def default_data() -> dict[str, Any]:
    text = resources.files("ledger").joinpath("default_config.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Defaults, overlaid by the first of: the given path, $LEDGER_CONFIG, ./ledger.toml."""
    chosen = (
        path or os.environ.get("LEDGER_CONFIG") or ("ledger.toml" if Path("ledger.toml").exists() else None)
    )
    data = default_data()
    if chosen:
        try:
            with open(chosen, "rb") as fh:
                data = _merge(data, tomllib.load(fh))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {chosen}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen}: {exc}") from exc
    return config_from_dict(data, str(chosen or "defaults"))
