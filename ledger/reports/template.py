"""Report templates as data: templates/pdf/<edition>.toml holds layout, styles, titles and every label.

Why data: the branch edits wording and column widths without touching code, and an English edition is one more
file. The loader checks what the code relies on (sections present, widths matching columns) so a bad edit fails
with a message naming the key instead of a broken PDF.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.lib.units import mm

from ledger.domain.errors import LedgerError

DEFAULT_EDITION = "zh"
_REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "pdf"
_TABLES = (
    "key_figures",
    "share_table",
    "breakdown",
    "top_borrowers",
    "appendix",
    "summary_tools",
    "summary_share_by_tool",
    "summary_share_trend",
    "summary_quota",
    "summary_maturities",
    "summary_movements",
    "movements",
    "ladder",
    "reasons",
    "exception_rows",
    "findings",
    "interest",
    "appendix_bills",
)


class TemplateError(LedgerError):
    """A template file is missing or breaks a rule; the message names the file and key."""


def template_dir() -> Path:
    return Path(os.environ.get("LEDGER_TEMPLATES") or _REPO_TEMPLATES)


@dataclass(frozen=True)
class Template:
    edition: str
    data: dict[str, Any]
    source: str

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        if not isinstance(value, dict):
            raise TemplateError(f"{self.source}: [{name}] missing")
        return value

    def text(self, section: str, key: str, **values: Any) -> str:
        raw = self.section(section).get(key)
        if not isinstance(raw, str):
            raise TemplateError(f"{self.source}: {section}.{key} missing")
        try:
            return raw.format(**values) if values else raw
        except KeyError as exc:
            raise TemplateError(f"{self.source}: {section}.{key} uses unknown field {exc}") from exc

    def label(self, key: str, **values: Any) -> str:
        return self.text("labels", key, **values)

    def heading(self, key: str) -> str:
        return self.text("sections", key)

    @property
    def meta(self) -> dict[str, Any]:
        return self.section("meta")

    def columns(self, table: str) -> list[str]:
        return [str(c) for c in self.section(table)["columns"]]

    def widths(self, table: str) -> list[float]:
        """Column widths in points (the file gives millimetres)."""
        return [float(w) * mm for w in self.section(table)["widths"]]

    def number(self, section: str, key: str) -> float:
        value = self.section(section).get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TemplateError(f"{self.source}: {section}.{key} must be a number")
        return float(value)

    def all_text(self) -> str:
        """Every string in the template (the tests check the font covers all of it)."""
        out: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(self.data)
        return "".join(out)


def load_template(edition: str = DEFAULT_EDITION, directory: Path | None = None) -> Template:
    path = (directory or template_dir()) / f"{edition}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TemplateError(f"报告模板不存在 (report template not found): {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: {exc}") from exc
    template = Template(edition, data, str(path))
    for table in _TABLES:
        section = template.section(table)
        columns, widths = section.get("columns"), section.get("widths")
        if not isinstance(columns, list) or not isinstance(widths, list) or len(columns) != len(widths):
            raise TemplateError(f"{path}: [{table}] needs columns and widths of equal length")
    for name in ("meta", "page", "font", "styles", "header", "footer", "labels", "sections"):
        template.section(name)
    return template
