"""The month-end batch: one PDF per tool with activity or balance, plus the summary, each registered.

Why it is shaped like this: the all-tool figures (balances at month end, maturities, month and year totals) are
one SQL pass each, shared by every tool report and the summary; each tool then runs its own small queries on the
(tool_code, drawn_on) index and streams its month's drawdowns into the appendix. Nothing reads the whole ledger
into Python, so time and memory follow the size of the month, not of the ledger. A PDF is written to a temporary
name and renamed, so a crash never leaves a half file under a registered name.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from ledger.domain.errors import ValidationError
from ledger.facade import Ledger
from ledger.reports import figures as fig
from ledger.reports import layout, registry
from ledger.reports.fonts import font_label, register_font
from ledger.reports.render import PageText, build_pdf
from ledger.reports.template import DEFAULT_EDITION, Template, load_template
from ledger.services.audit import format_head
from ledger.services.closing import closed_months
from ledger.tools import Tool


@dataclass(frozen=True)
class Generated:
    path: Path
    tool_code: str | None  # None: the summary
    pages: int
    sha256: str
    data_fingerprint: str
    record_id: int
    newly_registered: bool
    seconds: float
    status: str = registry.PRELIMINARY
    generated_at: str = ""  # as printed: a reused registration's own time


def parse_generated_at(value: str | None) -> str:
    """The generated-at text printed in the reports: the given ISO time (validated) or now, UTC, to the second."""
    if value is None or not value.strip():
        return datetime.now(UTC).replace(microsecond=0).isoformat()
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError.single(
            "generated_at", value, "应为 ISO 时间 (ISO 8601, e.g. 2023-04-01T09:00:00+08:00)"
        ) from exc
    return parsed.isoformat(timespec="seconds")


def file_name(period: fig.Period, tool_code: str | None, edition: str = DEFAULT_EDITION) -> str:
    """report-YYYY-MM-<tool>.pdf, or …-summary.pdf; another edition adds its name (report-2025-06-JCT-en.pdf)."""
    suffix = "" if edition == DEFAULT_EDITION else f"-{edition}"
    return f"report-{period.key}-{tool_code or 'summary'}{suffix}.pdf"


@contextmanager
def _snapshot(ledger: Ledger) -> Iterator[Connection]:
    """One read transaction for the whole batch, so every figure and appendix sees the same ledger while others
    book: on SQLite a deferred BEGIN on the read-only engine (a WAL snapshot that does not block the registry's
    writes), on PostgreSQL REPEATABLE READ."""
    with ledger.read_only_engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


Render = Callable[[registry.Stamp], tuple[bytes, int]]


def _issue(
    ledger: Ledger,
    period: fig.Period,
    tool_code: str | None,
    path: Path,
    render: Render,
    fingerprint: str,
    generated_at: str,
    status: str,
    edition: str,
    started: float,
) -> Generated:
    """Matches the report to its registration (reusing one made for the same data) or registers it, draws the PDF
    with that registration on every page, writes it; all under the ledger's write lock, so numbers and heads
    cannot interleave with another registration."""
    face = font_label()
    with ledger.write("report", path.name) as conn:
        registry.lock(conn)
        found = registry.reusable(
            conn,
            tool_code=tool_code,
            period=period.key,
            file_name=path.name,
            data_fingerprint=fingerprint,
            status=status,
            edition=edition,
            font=face,
        )
        if found is not None and found.head is not None:
            stamp = registry.Stamp(found.id, fingerprint, found.head, status, found.generated_at)
            data, pages = render(stamp)
            if registry.sha256_bytes(data) == found.sha256:  # the registered bytes again
                _write(path, data)
                return Generated(
                    path,
                    tool_code,
                    pages,
                    found.sha256,
                    fingerprint,
                    found.id,
                    False,
                    time.perf_counter() - started,
                    status,
                    found.generated_at,
                )
        registration = registry.Registration(
            conn,
            ledger.actor,
            tool_code=tool_code,
            period=period.key,
            file_name=path.name,
            data_fingerprint=fingerprint,
            generated_at=generated_at,
            status=status,
            edition=edition,
            font=face,
        )
        data, pages = render(registration.stamp)
        sha = registry.sha256_bytes(data)
        _write(path, data)
        row = registration.commit(sha)
    return Generated(
        path,
        tool_code,
        pages,
        sha,
        fingerprint,
        row.id,
        True,
        time.perf_counter() - started,
        status,
        generated_at,
    )


def _page_text(tpl: Template, title: str, period: fig.Period, stamp: registry.Stamp) -> PageText:
    return PageText(
        title,
        layout.period_label(tpl, period),
        layout.chinese_time(tpl, stamp.generated_at),
        status=stamp.status,
        number=stamp.number,
        fingerprint=stamp.fingerprint,
        head=format_head(stamp.head),
        created=datetime.fromisoformat(stamp.generated_at),
        subject=tpl.label(
            "pdf_subject",
            document=tpl.meta["document"],
            period_label=layout.period_label(tpl, period),
            status=tpl.label(f"status_{stamp.status}"),
            number=stamp.number,
        ),
    )


def tool_report(
    ledger: Ledger,
    conn: Connection,
    tpl: Template,
    tool: Tool,
    period: fig.Period,
    out_dir: Path,
    *,
    line: fig.ToolLine | None = None,
    trend: list[tuple[str, int, int]] | None = None,
    share: Any = None,
    reasons: dict[str, list[tuple[str, int, int]]] | None = None,
    exc: fig.Exceptions | None = None,
) -> tuple[Path, Render, str]:
    """One tool's report: (path, a function drawing it for a registration stamp, data fingerprint). The month's
    drawdowns are streamed twice: into the fingerprint (every page prints the registration, made before drawing),
    then into the appendix, so no list of them is held."""
    font = register_font()
    figures = fig.tool_figures(
        conn, ledger.config, tool.code, period, line=line, trend=trend, share=share, reasons=reasons
    )
    mine = exc.for_tool(tool.code) if exc is not None else None
    fingerprint = fig.Fingerprint()
    fingerprint.add(figures)
    fingerprint.add(mine)
    for row in fig.stream_month(
        conn, tool.code, period
    ):  # streamed twice (here, then drawn): memory stays flat
        fingerprint.add(row)
    title = tpl.label("tool_title", tool_name=tool.name)

    def render(stamp: registry.Stamp) -> tuple[bytes, int]:
        story = layout.tool_story(
            tpl, tool, period, figures, stamp, fig.stream_month(conn, tool.code, period), font, mine
        )
        buffer = io.BytesIO()
        pages = build_pdf(buffer, story, tpl, _page_text(tpl, title, period, stamp))
        return buffer.getvalue(), pages

    return out_dir / file_name(period, tool.code, tpl.edition), render, fingerprint.hexdigest()


def summary_report(
    ledger: Ledger,
    conn: Connection,
    tpl: Template,
    period: fig.Period,
    out_dir: Path,
    lines: Sequence[fig.ToolLine],
    trends: dict[str, list[tuple[str, int, int]]] | None = None,
    share: Any = None,
    reasons: dict[str, list[tuple[str, int, int]]] | None = None,
    exc: fig.Exceptions | None = None,
) -> tuple[Path, Render, str]:
    font = register_font()
    tools = list(ledger.catalogue)
    share = share if share is not None else fig.share_result(conn, ledger.config, period)
    reasons = reasons if reasons is not None else fig.reason_counts(conn, period)
    trend = fig.combined_trend(period, fig.trends(conn, period) if trends is None else trends)
    fingerprint = fig.Fingerprint()
    for item in (period.key, list(lines), share, trend, reasons, exc):
        fingerprint.add(item)
    title = tpl.label("summary_title")

    def render(stamp: registry.Stamp) -> tuple[bytes, int]:
        story = layout.summary_story(tpl, tools, period, lines, share, trend, stamp, font, reasons, exc)
        buffer = io.BytesIO()
        pages = build_pdf(buffer, story, tpl, _page_text(tpl, title, period, stamp))
        return buffer.getvalue(), pages

    return out_dir / file_name(period, None, tpl.edition), render, fingerprint.hexdigest()


def monthly_reports(
    ledger: Ledger,
    month: str,
    tools: Sequence[str] | None = None,
    out_dir: str | os.PathLike[str] = ".",
    generated_at: str | None = None,
    edition: str = DEFAULT_EDITION,
) -> list[Generated]:
    """`ledger report monthly`: tool reports (the ones asked for, or every tool with activity in the month or a
    balance at its end) and the summary, written to out_dir and registered; returns them in that order. A month not
    yet closed gives preliminary reports (初步数 on every page); a closed month's are final."""
    period = fig.Period.parse(month)
    chosen = [ledger.tool(t) for t in tools] if tools else None  # unknown tool: LedgerError before any work
    stamp = parse_generated_at(generated_at)
    tpl = load_template(edition)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ledger.require_schema()
    results: list[Generated] = []
    with _snapshot(ledger) as conn:
        status = registry.FINAL if period.key in closed_months(conn) else registry.PRELIMINARY
        codes = [t.code for t in ledger.catalogue]
        lines = fig.summary_lines(conn, period, codes)
        trends = fig.trends(conn, period)
        share = fig.share_result(conn, ledger.config, period)
        reasons = fig.reason_counts(conn, period)
        exc = fig.exceptions(
            conn,
            ledger.config_on(period.last),
            period,
            {line.tool_code: line.ytd for line in lines},
            {line.tool_code: line.outstanding_fen for line in lines},
        )
        by_code = {line.tool_code: line for line in lines}
        if chosen is None:
            chosen = [
                t
                for t in ledger.catalogue
                if by_code[t.code].month.drawdowns
                or by_code[t.code].outstanding_fen
                or by_code[t.code].movements.opening.drawdowns
            ]
        for tool in chosen:
            started = time.perf_counter()
            line = by_code[tool.code]
            path, render, fingerprint = tool_report(
                ledger,
                conn,
                tpl,
                tool,
                period,
                directory,
                line=line,
                trend=trends.get(tool.code) or fig.empty_trend(period),
                share=share,
                reasons=reasons,
                exc=exc,
            )
            results.append(
                _issue(ledger, period, tool.code, path, render, fingerprint, stamp, status, edition, started)
            )
        started = time.perf_counter()
        path, render, fingerprint = summary_report(
            ledger, conn, tpl, period, directory, lines, trends, share, reasons, exc
        )
        results.append(
            _issue(ledger, period, None, path, render, fingerprint, stamp, status, edition, started)
        )
    return results


def verify(ledger: Ledger, path: str | os.PathLike[str]) -> registry.VerifyOutcome:
    file = Path(path)
    if not file.is_file():
        raise ValidationError.single("file", str(path), "文件不存在 (no such file)")
    ledger.require_schema()
    with ledger.connect() as conn:
        return registry.verify_file(conn, file)
