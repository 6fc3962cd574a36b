"""Policy as data: the key-area definition, the threshold, tool quotas and rates, authority limits.

The policy lives in the ledger: effective-dated, audited records in the `policy` table, changed only through
`ledger policy set` and a second person's approval (ledger.services.policy). This module is the pure half: the keys
(dotted names such as `share.threshold`, `tools.JCT.annual_quota_yuan`, `maker_checker.default_limit_yuan`), their
validation, and `Config`, the policy in force on one date, built from them. A caller's file never chooses a
control: ledger.toml keeps only local preferences (`[ui] lang`); its policy sections are read once, by `ledger init`
on a ledger that has no policy yet (the upgrade path), and recorded in the chain.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.domain.enterprise import ALL_STATUSES, SIZES, normalise_status
from ledger.domain.key_area import KEY_AREA, KeyAreaDefinition
from ledger.domain.measures import TARGET
from ledger.domain.money import MoneyError, parse_rate, parse_yuan
from ledger.tools import BUILT_IN, RATE_TABLES, Catalogue, Tool

POLICY_SECTIONS = ("share", "measures", "inclusive", "tools", "maker_checker")
LOCAL_SECTIONS = ("ui",)
MAX_CONFIG_BYTES = (
    256 * 1024
)  # a ledger.toml is a few lines; refuse anything that is not a small regular file
_TOOL_FIELDS = ("annual_quota_yuan", "balance_cap_yuan", "lend_rate_cap", "rate_table", "funding_basis")
_LIST_FIELDS = ("statuses", "industry_prefixes", "sizes")
_BOOL_FIELDS = ("manufacturing", "high_tech_manufacturing")
# What a measure's definition (share.* for the rule's key areas, measures.NAME.* for the others) may set.
_DEFINITION_FIELDS = (
    "label",
    "source",
    "statuses",
    "manufacturing",
    "high_tech_manufacturing",
    "industry_prefixes",
    "industry_label",
    "sizes",
)
_INDUSTRY_PREFIX = re.compile(r"^[A-T]\d{0,4}$")


class ConfigError(ValueError):
    """A configuration file or policy value breaks a rule; the message names the key."""


@dataclass(frozen=True)
class Config:
    """The policy in force on one date (ledger.services.policy.PolicyBook.config_on builds it)."""

    threshold: Decimal = Decimal("0.50")
    key_areas: KeyAreaDefinition = field(default_factory=KeyAreaDefinition)
    inclusive_max_yuan: Decimal = Decimal("10000000")
    catalogue: Catalogue = field(default_factory=Catalogue)
    approval_limit_yuan: Decimal | None = None
    approval_limits_by_tool: dict[str, Decimal] = field(default_factory=dict)
    source: str = "defaults"
    # Every measure's definition by name, the rule's key areas (`key_area`) included; `target` (each tool's own
    # target group) needs none. `share_measure` is the measure the ≥50% rule and `check share` default to.
    measures: dict[str, KeyAreaDefinition] = field(default_factory=dict)
    share_measure: str = KEY_AREA

    def approval_limit(self, tool_code: str) -> Decimal | None:
        return self.approval_limits_by_tool.get(tool_code, self.approval_limit_yuan)

    def definitions(self) -> dict[str, KeyAreaDefinition]:
        """Every defined measure, the rule's key areas first."""
        return {KEY_AREA: self.key_areas, **{k: v for k, v in self.measures.items() if k != KEY_AREA}}

    def measure_names(self) -> list[str]:
        return [*self.definitions(), TARGET]


@dataclass(frozen=True)
class LocalSettings:
    """What a workstation's ledger.toml may still set: preferences, never controls."""

    lang: str | None = None
    source: str = "defaults"


# -- values --------------------------------------------------------------------------------------------------------
def _decimal(value: Any, key: str) -> Decimal:
    if isinstance(value, float):
        raise ConfigError(f'{key}: write amounts and rates as strings ("0.50"), not floats')
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ConfigError(f"{key}: not a number: {value!r}")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ConfigError(f"{key}: not a number: {value!r}") from None
    if not number.is_finite():
        raise ConfigError(f"{key}: must be a finite number, not {value!r}")
    return number


def _yuan(value: Any, key: str, *, zero_ok: bool) -> Decimal:
    number = _decimal(value, key)
    try:
        amount = parse_yuan(number)
    except MoneyError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if amount < 0 or (amount == 0 and not zero_ok):
        raise ConfigError(f"{key}: must be {'≥ 0' if zero_ok else '> 0'} yuan, not {value!r}")
    if amount >= Decimal("1e13"):
        raise ConfigError(f"{key}: above 10 trillion yuan: {value!r}")
    return amount


def _rate(value: Any, key: str) -> Decimal:
    try:
        rate = parse_rate(_decimal(value, key))
    except MoneyError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if not Decimal(0) <= rate < Decimal(100):
        raise ConfigError(f"{key}: a rate in percent between 0 and 100, not {value!r}")
    return rate


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: true or false, not {value!r}")
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: a list of text values, not {value!r}")
    return tuple(value)


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: a section (table), not {value!r}")
    return value


def config_from_dict(data: Mapping[str, Any], source: str = "dict") -> Config:
    """Validates every value (type and range, the key named) and builds the Config; raises ConfigError."""
    share = _section(data, "share")
    key_areas = _definition(share, "share", KEY_AREA, KeyAreaDefinition())
    measures: dict[str, KeyAreaDefinition] = {KEY_AREA: key_areas}
    measure_sections = _section(data, "measures")
    for name, section in measure_sections.items():
        if name in (KEY_AREA, TARGET) or not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", name):
            raise ConfigError(
                f"measures.{name}: not a measure name (lower-case letters, digits, _; not {KEY_AREA}/{TARGET})"
            )
        if not isinstance(section, dict):
            raise ConfigError(f"measures.{name}: a section, not {section!r}")
        measures[name] = _definition(
            section,
            f"measures.{name}",
            name,
            KeyAreaDefinition(statuses=(), high_tech_manufacturing=False, name=name, label=name),
        )
    share_measure = share.get("measure", KEY_AREA)
    if share_measure not in measures:
        raise ConfigError(
            f"share.measure: {share_measure!r} is not a defined measure ({', '.join(measures)})"
        )
    threshold = _decimal(share.get("threshold", "0.50"), "share.threshold")
    if not Decimal(0) < threshold <= Decimal(1):
        raise ConfigError(f"share.threshold: a share above 0 and at most 1 (0.50 = 50%), not {threshold}")

    tools = []
    tool_settings = _section(data, "tools")
    known = {t.code for t in BUILT_IN}
    for code in tool_settings:
        if code not in known:
            raise ConfigError(f"tools.{code}: no such tool code (known: {', '.join(sorted(known))})")
    for tool in BUILT_IN:
        settings = tool_settings.get(tool.code, {})
        if not isinstance(settings, dict):
            raise ConfigError(f"tools.{tool.code}: a section, not {settings!r}")
        for name in settings:
            if name not in _TOOL_FIELDS:
                raise ConfigError(f"tools.{tool.code}.{name}: unknown setting ({', '.join(_TOOL_FIELDS)})")
        changes: dict[str, Any] = {}
        if settings.get("funding_basis") is not None:
            tool = _funding_basis(tool, settings["funding_basis"])
        if settings.get("rate_table") is not None:
            name = settings["rate_table"]
            if name not in RATE_TABLES:
                raise ConfigError(
                    f"tools.{tool.code}.rate_table: unknown table {name!r} ({', '.join(RATE_TABLES)})"
                )
            changes["rate_table"] = RATE_TABLES[name]
        for key in ("annual_quota_yuan", "balance_cap_yuan"):
            if settings.get(key) is not None:
                changes[key] = _yuan(settings[key], f"tools.{tool.code}.{key}", zero_ok=False)
        if settings.get("lend_rate_cap") is not None:
            changes["lend_rate_cap"] = _rate(settings["lend_rate_cap"], f"tools.{tool.code}.lend_rate_cap")
        tools.append(tool.configured(**changes) if changes else tool)

    mc = _section(data, "maker_checker")
    limit = mc.get("default_limit_yuan")
    by_tool = _section(mc, "tools")
    for code in by_tool:
        if code not in known:
            raise ConfigError(f"maker_checker.tools.{code}: no such tool code")
    inclusive = _section(data, "inclusive")
    return Config(
        threshold=threshold,
        key_areas=key_areas,
        inclusive_max_yuan=_yuan(
            inclusive.get("max_per_borrower_yuan", "10000000"),
            "inclusive.max_per_borrower_yuan",
            zero_ok=False,
        ),
        catalogue=Catalogue(tuple(tools)),
        approval_limit_yuan=None
        if limit is None
        else _yuan(limit, "maker_checker.default_limit_yuan", zero_ok=True),
        approval_limits_by_tool={
            k: _yuan(v, f"maker_checker.tools.{k}", zero_ok=True) for k, v in by_tool.items() if v is not None
        },
        source=source,
        measures=measures,
        share_measure=share_measure,
    )


def _definition(
    section: Mapping[str, Any], prefix: str, name: str, base: KeyAreaDefinition
) -> KeyAreaDefinition:
    """A measure's definition from its policy section (share.* or measures.NAME.*), every value validated."""
    for key in section:
        if key not in _DEFINITION_FIELDS and not (prefix == "share" and key in ("threshold", "measure")):
            raise ConfigError(f"{prefix}.{key}: unknown setting ({', '.join(_DEFINITION_FIELDS)})")
    statuses = _strings(section.get("statuses", list(base.statuses)), f"{prefix}.statuses")
    for status in statuses:
        try:
            normalise_status(status)
        except ValueError:
            raise ConfigError(
                f"{prefix}.statuses: unknown status {status!r} ({', '.join(ALL_STATUSES)})"
            ) from None
    prefixes = _strings(
        section.get("industry_prefixes", list(base.industry_prefixes)), f"{prefix}.industry_prefixes"
    )
    for code in prefixes:
        if not _INDUSTRY_PREFIX.match(code):
            raise ConfigError(
                f"{prefix}.industry_prefixes: {code!r} is not a GB/T 4754 code prefix (e.g. I65)"
            )
    sizes = _strings(section.get("sizes", list(base.sizes)), f"{prefix}.sizes")
    for size in sizes:
        if size not in SIZES:
            raise ConfigError(f"{prefix}.sizes: {size!r} is not a size ({', '.join(SIZES)})")
    texts = {}
    for key in ("label", "source", "industry_label"):
        value = section.get(key, getattr(base, key))
        if not isinstance(value, str) or len(value) > 500:
            raise ConfigError(f"{prefix}.{key}: a text of at most 500 characters, not {value!r}")
        texts[key] = value
    return KeyAreaDefinition(
        statuses=tuple(normalise_status(s) for s in statuses),
        manufacturing=_bool(section.get("manufacturing", base.manufacturing), f"{prefix}.manufacturing"),
        high_tech_manufacturing=_bool(
            section.get("high_tech_manufacturing", base.high_tech_manufacturing),
            f"{prefix}.high_tech_manufacturing",
        ),
        industry_prefixes=prefixes,
        sizes=sizes,
        name=name,
        **texts,
    )


def _funding_basis(tool: Tool, value: Any) -> Tool:
    """The tool drawing on the national tool `value` names (its code or exact name), of the same kind."""
    key = f"tools.{tool.code}.funding_basis"
    if not isinstance(value, str):
        raise ConfigError(f"{key}: a national tool's code or name, not {value!r}")
    national = {t.code: t for t in BUILT_IN if t.region == "全国"}
    basis = next((t for t in national.values() if value.strip() in (t.code, t.name, *t.aliases)), None)
    if basis is None:
        raise ConfigError(f"{key}: {value!r} is not a national tool ({', '.join(sorted(national))})")
    if basis.kind != tool.kind:
        raise ConfigError(f"{key}: {basis.name} is {basis.kind_name}; {tool.name} is {tool.kind_name}")
    if basis.code == tool.funding_basis:
        return tool  # the built-in basis, with its own source
    return tool.drawing_on(basis, f"policy {key} (set in the ledger)")


# -- dotted keys ---------------------------------------------------------------------------------------------------
def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'share': {'threshold': '0.5'}} → {'share.threshold': '0.5'}; lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def default_data() -> dict[str, Any]:
    text = resources.files("ledger").joinpath("default_config.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def policy_part(data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the policy sections of a configuration, as dotted keys."""
    return flatten({k: v for k, v in data.items() if k in POLICY_SECTIONS})


def default_policy() -> dict[str, Any]:
    """The packaged defaults as dotted keys, with the authority limit listed (unset) so `policy show` names it."""
    flat = policy_part(default_data())
    flat.setdefault("maker_checker.default_limit_yuan", None)
    return flat


def is_policy_key(key: str) -> bool:
    """A key `ledger policy set` accepts: one of the defaults, or a per-tool setting of a known tool."""
    if key in default_policy():
        return True
    parts = key.split(".")
    codes = {t.code for t in BUILT_IN}
    if len(parts) == 3 and parts[0] == "tools" and parts[1] in codes and parts[2] in _TOOL_FIELDS:
        return True
    if len(parts) == 2 and parts[0] == "share" and parts[1] in _DEFINITION_FIELDS:
        return True
    measures = {k.split(".")[1] for k in default_policy() if k.startswith("measures.")}
    if len(parts) == 3 and parts[0] == "measures" and parts[1] in measures and parts[2] in _DEFINITION_FIELDS:
        return True
    return len(parts) == 3 and parts[:2] == ["maker_checker", "tools"] and parts[2] in codes


def parse_policy_value(key: str, text: str) -> Any:
    """What a user typed after the key, as the JSON value the policy record stores.

    `none` (or 未设定) unsets a limit or quota; lists take JSON (`["高新技术企业"]`) or commas; booleans true/false.
    Decimals stay text, so no float ever carries a limit."""
    raw = text.strip()
    if raw.lower() in ("none", "null", "unset") or raw in ("未设定", "无"):
        return None
    default = default_policy().get(key)
    field_name = key.rsplit(".", 1)[-1]
    if default is None and key.startswith(("share.", "measures.")):  # a definition field with no default here
        default = [] if field_name in _LIST_FIELDS else (False if field_name in _BOOL_FIELDS else None)
    if isinstance(default, bool):
        lowered = raw.lower()
        if lowered in ("true", "yes", "1", "是"):
            return True
        if lowered in ("false", "no", "0", "否"):
            return False
        raise ConfigError(f"{key}: true or false, not {text!r}")
    if isinstance(default, list):
        if raw.startswith("["):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{key}: not a JSON list: {exc}") from None
            return list(_strings(value, key))
        return [part.strip() for part in re.split(r"[,，、;；]", raw) if part.strip()]
    return raw


def check_policy(flat: Mapping[str, Any], source: str = "policy") -> Config:
    """The Config a set of dotted keys gives, every value validated; None values mean 'not set'."""
    unknown = [k for k in flat if not is_policy_key(k)]
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown policy key (`ledger policy show` lists them)")
    return config_from_dict(unflatten({k: v for k, v in flat.items() if v is not None}), source)


# -- the local file --------------------------------------------------------------------------------------------------
def read_small_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A TOML file that must be a small regular file (a device, FIFO or directory is refused before reading)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: not a regular file")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; not a ledger.toml")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; not a ledger.toml")
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def local_config_path(path: str | os.PathLike[str] | None = None) -> str | None:
    """The first of: the given path, $LEDGER_CONFIG, ./ledger.toml (if present)."""
    chosen = path or os.environ.get("LEDGER_CONFIG")
    if chosen:
        return str(chosen)
    return "ledger.toml" if Path("ledger.toml").exists() else None


def load_local(path: str | os.PathLike[str] | None = None) -> tuple[LocalSettings, dict[str, Any]]:
    """(the local preferences, the file's policy sections as dotted keys). The policy part is used only by
    `ledger init` on a ledger without policy (an upgrade); afterwards the faces warn that it is ignored."""
    chosen = local_config_path(path)
    if chosen is None:
        return LocalSettings(), {}
    data = read_small_toml(chosen)
    ui = _section(data, "ui")
    lang = ui.get("lang")
    if lang is not None and lang not in ("zh", "en"):
        raise ConfigError(f"ui.lang: zh or en, not {lang!r}")
    unknown = [k for k in data if k not in POLICY_SECTIONS + LOCAL_SECTIONS]
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section in {chosen} (ui; policy lives in the ledger)")
    policy = policy_part(data)
    if policy:
        check_policy(
            {**default_policy(), **policy}, chosen
        )  # a bad value is named even if it will be ignored
    return LocalSettings(lang=lang, source=chosen), policy


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """The packaged defaults overlaid by a file's policy sections: for `ledger init`'s one-time policy load and for
    tests of pure rules; a running ledger takes its policy from the database, never from here."""
    _settings, policy = load_local(path)
    return check_policy({**default_policy(), **policy}, str(local_config_path(path) or "defaults"))
