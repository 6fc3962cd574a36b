"""The document machinery: page template, header and footer on every page, "page X of Y", styled tables, charts.

Why these choices:
- Reproducible bytes: `rl_config.invariant = 1` (fixed creation date and document id) plus a caller-supplied
  generated-at text, so the same data renders to the same sha256 and `ledger report verify` can prove a copy.
- Every glyph from one embedded TrueType face; the canvas's *initial* font is that face too, otherwise reportlab
  references Helvetica (never embedded) and `pdffonts` shows an unembedded font.
- "共 Y 页" is a form XObject drawn on every page and defined once at the end, when Y is known: one pass, no page
  kept in memory, so a 500-page appendix costs no more memory than a 5-page report.
- Small tables with fixed widths and a repeated header row; numbers are plain right-aligned strings, only Chinese
  text cells are Paragraphs with wordWrap='CJK' (a Paragraph per number would triple the build time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from reportlab import rl_config
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import pagesizes
from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ledger.reports.fonts import register_font
from ledger.reports.template import Template

TOTAL_FORM = "ledgerPageTotal"
TABLE_CHUNK = 30  # rows per small table
HEADER_FILL = HexColor("#e6e9ef")
RULE = HexColor("#8a8a8a")
BAR = HexColor("#3b6ea5")
STAMP = HexColor("#c0392b")
_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}


@dataclass(frozen=True)
class PageText:
    """What the header and footer say on every page of one report."""

    report_title: str
    period_label: str
    generated_at: str  # as printed (the template's date format)
    status: str = "final"  # 'preliminary': 初步数 stamped on every page
    number: int = 0  # registration number
    fingerprint: str = ""
    head: str = ""  # the audit chain's head at registration, COUNT HASH
    created: datetime | None = None  # the PDF's CreationDate/ModDate: the report's --generated-at
    subject: str = ""


class Styles:
    """Paragraph styles from the template's [styles] section, all in the embedded face."""

    def __init__(self, template: Template, font: str) -> None:
        self.font = font
        self.template = template
        self._cache: dict[str, ParagraphStyle] = {}

    def __getitem__(self, name: str) -> ParagraphStyle:
        if name not in self._cache:
            spec = self.template.section("styles").get(name, {})
            size = float(spec.get("size", self.template.number("font", "body")))
            self._cache[name] = ParagraphStyle(
                name,
                fontName=self.font,
                fontSize=size,
                leading=float(spec.get("leading", size * 1.3)),
                alignment=_ALIGN[str(spec.get("align", "left"))],
                spaceBefore=float(spec.get("space_before", 0)),
                spaceAfter=float(spec.get("space_after", 0)),
                wordWrap="CJK",
                borderWidth=0.6 if spec.get("border") else 0,
                borderColor=RULE if spec.get("border") else None,
                borderPadding=4 if spec.get("border") else 0,
            )
        return self._cache[name]

    def cell(self, align: str = "left", header: bool = False, cjk: bool = True) -> ParagraphStyle:
        """Table cell text; `cjk` (wordWrap='CJK', breaks between any two Chinese characters) only for Chinese
        text, so a number is never split across lines."""
        key = f"cell-{align}-{header}-{cjk}"
        if key not in self._cache:
            base = self["cell"]
            self._cache[key] = ParagraphStyle(
                key, parent=base, alignment=_ALIGN[align], wordWrap="CJK" if cjk else None
            )
        return self._cache[key]


def paragraph(styles: Styles, style: str, text: str) -> Paragraph:
    return Paragraph(escape(text), styles[style])


def escape(text: str) -> str:
    """Paragraph markup is XML-ish: borrower names may hold & or <."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tables(
    styles: Styles,
    columns: Sequence[str],
    widths: Sequence[float],
    rows: Sequence[Sequence[Any]],
    *,
    text_columns: Sequence[int] = (0,),
    bold_last: bool = False,
) -> list[Flowable]:
    """Rows as small fixed-width tables of TABLE_CHUNK rows, each with the header row (repeated when split).

    Columns not in `text_columns` hold numbers: plain strings, right-aligned. Text columns are CJK-wrapped
    Paragraphs so a long bank or borrower name wraps inside its cell instead of running over the next one.
    """
    size = styles.template.number("font", "table")
    header = [Paragraph(escape(c), styles.cell("center", True)) for c in columns]
    out: list[Flowable] = []
    marker = str(styles.template.section("labels").get("unit_marker", ""))
    if marker and any(marker in c for c in columns):  # 单位：万元 over every table that shows 万元
        out.append(Paragraph(escape(styles.template.label("unit_line")), styles["unit"]))
    texts = set(text_columns)
    chunks = [rows[i : i + TABLE_CHUNK] for i in range(0, len(rows), TABLE_CHUNK)] or [[]]
    for n, chunk in enumerate(chunks):
        body = [
            [
                Paragraph(escape(v), styles.cell()) if j in texts and isinstance(v, str) else v
                for j, v in enumerate(row)
            ]
            for row in chunk
        ]
        commands: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, -1), styles.font, size),
            ("GRID", (0, 0), (-1, -1), 0.3, RULE),
            ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        for j in range(len(columns)):
            if j not in texts:
                commands.append(("ALIGN", (j, 1), (j, -1), "RIGHT"))
        if bold_last and n == len(chunks) - 1 and chunk:
            commands.append(("BACKGROUND", (0, -1), (-1, -1), HexColor("#f3f4f7")))
        table = Table([header, *body], colWidths=list(widths), repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle(commands))
        out.append(table)
        out.append(Spacer(1, 2 * mm))
    return out


def bar_chart(
    styles: Styles,
    labels: Sequence[str],
    values: Sequence[int],
    value_labels: Sequence[str],
    axis_labels: tuple[list[int], list[str]],
    title: str,
    x_label: str,
    unit: str,
) -> Drawing:
    """A labelled bar chart as a flowable. Values are integer fen (bar heights); every printed number is a
    pre-formatted exact string, so no float ever reaches what a reader sees."""
    tpl = styles.template
    width, height = tpl.number("trend_chart", "width") * mm, tpl.number("trend_chart", "height") * mm
    size = tpl.number("font", "chart")
    drawing = Drawing(width, height)
    # The renderer starts every drawing in Helvetica (never embedded) unless told otherwise.
    drawing.initialFontName = styles.font
    drawing.initialFontSize = size
    chart = VerticalBarChart()
    chart.x, chart.y = 16 * mm, 12 * mm
    chart.width, chart.height = width - 20 * mm, height - 26 * mm
    chart.data = [list(values)]
    chart.bars[0].fillColor = BAR
    chart.bars[0].strokeColor = None
    steps, step_labels = axis_labels
    chart.valueAxis.valueMin = steps[0]
    chart.valueAxis.valueMax = steps[-1]
    chart.valueAxis.valueSteps = steps
    label_of = dict(zip(steps, step_labels, strict=True))
    chart.valueAxis.labelTextFormat = lambda v: label_of.get(int(v), "")
    chart.valueAxis.labels.fontName = styles.font
    chart.valueAxis.labels.fontSize = size
    chart.valueAxis.strokeColor = RULE
    chart.valueAxis.gridStrokeColor = HexColor("#dddddd")
    chart.valueAxis.visibleGrid = True
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.fontName = styles.font
    chart.categoryAxis.labels.fontSize = size
    chart.categoryAxis.labels.dy = -2
    chart.categoryAxis.strokeColor = RULE
    chart.barLabelArray = [list(value_labels)]
    chart.barLabels.fontName = styles.font
    chart.barLabels.fontSize = size - 1
    chart.barLabels.nudge = 6
    chart.barLabelFormat = "values"
    drawing.add(chart)
    drawing.add(
        String(width / 2, height - 6, title, fontName=styles.font, fontSize=size + 1.5, textAnchor="middle")
    )
    drawing.add(
        String(
            chart.x - 4,
            chart.y + chart.height + 7,
            unit,
            fontName=styles.font,
            fontSize=size,
            textAnchor="end",
        )
    )
    drawing.add(
        String(
            chart.x + chart.width / 2, 1, x_label, fontName=styles.font, fontSize=size, textAnchor="middle"
        )
    )
    return drawing


def nice_steps(largest: int, ticks: int = 5) -> list[int]:
    """Integer axis steps 0 … ≥ largest on a 1/2/5 × 10^k grid (in fen), so tick labels are round 万元 figures."""
    if largest <= 0:
        return [0, 1_000_000]  # an empty chart still gets a 0 … 1万 axis
    raw = -(-largest // ticks)
    magnitude = 10 ** (len(str(raw)) - 1)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = -(-largest // step) * step
    return list(range(0, top + step, step))


def _page_size(template: Template) -> tuple[float, float]:
    name = str(template.section("page").get("size", "A4"))
    size = getattr(pagesizes, name, None)
    if not isinstance(size, tuple):
        size = pagesizes.A4
    return size


def build_pdf(out: IO[bytes], story: list[Flowable], template: Template, page: PageText) -> int:
    """Renders `story` into `out`; returns the page count."""
    rl_config.invariant = 1
    font = register_font()
    size = _page_size(template)
    margins = template.section("page")
    left, right = float(margins["margin_left"]) * mm, float(margins["margin_right"]) * mm
    top, bottom = float(margins["margin_top"]) * mm, float(margins["margin_bottom"]) * mm
    meta = template.meta
    small = template.number("font", "small")
    fields = {
        "issuer": meta["issuer"],
        "document": meta["document"],
        "report_title": page.report_title,
        "period_label": page.period_label,
        "generated_at": page.generated_at,
        "status": template.label(f"status_{page.status}"),
        "number": page.number,
        "fingerprint": page.fingerprint,
        "head": page.head,
    }
    header_left = template.text("header", "left", **fields)
    header_right = template.text("header", "right", **fields)
    footer_left = template.text("footer", "left", **fields)
    footer_lines = [
        template.text("footer", "registration", **fields),
        template.text("footer", "chain", **fields),
    ]
    stamp = template.label("stamp_preliminary") if page.status == "preliminary" else ""
    pages_seen = [0]

    def decorate(canvas: Canvas, doc: BaseDocTemplate) -> None:
        width, height = size
        canvas.saveState()
        canvas.setFont(font, small)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        y_head = height - top + 5 * mm
        canvas.drawString(left, y_head + 1.5 * mm, header_left)
        canvas.drawRightString(width - right, y_head + 1.5 * mm, header_right)
        canvas.line(left, y_head, width - right, y_head)
        y_foot = bottom - 7 * mm
        canvas.line(left, y_foot + 4 * mm, width - right, y_foot + 4 * mm)
        canvas.drawString(left, y_foot, footer_left)
        canvas.drawCentredString(width / 2, y_foot, template.text("footer", "right", page=doc.page))
        canvas.setFont(font, small - 1.5)
        for k, line in enumerate(footer_lines, 1):
            canvas.drawString(left, y_foot - k * (small - 0.5), line)
        if stamp:  # 初步数: a boxed stamp at the top right of every page
            canvas.setFont(font, small + 4.5)
            canvas.setStrokeColor(STAMP)
            canvas.setFillColor(STAMP)
            canvas.setLineWidth(1.2)
            text_width = canvas.stringWidth(stamp, font, small + 4.5)
            x, y = width - right - text_width - 2 * mm, height - 11 * mm
            canvas.rect(
                x - 2 * mm, y - 1.6 * mm, text_width + 4 * mm, small + 4.5 + 2.2 * mm, stroke=1, fill=0
            )
            canvas.drawString(x, y, stamp)
            canvas.setFillColorRGB(0, 0, 0)
            canvas.setFont(font, small)
        canvas.translate(width - right, y_foot)
        canvas.doForm(TOTAL_FORM)
        canvas.restoreState()
        pages_seen[0] = doc.page

    class ReportCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if page.created is not None:  # invariant mode fixes 2000-01-01; the report's own time instead
                stamp = self._doc._timeStamp
                moment = page.created
                offset = moment.utcoffset()
                minutes = int(offset.total_seconds() // 60) if offset is not None else 0
                stamp.YMDhms = (
                    moment.year,
                    moment.month,
                    moment.day,
                    moment.hour,
                    moment.minute,
                    moment.second,
                )
                stamp.dhh, stamp.dmm = int(minutes / 60), abs(minutes) % 60

        def save(self) -> None:
            # All pages are out: the total is known, define the form every page already references.
            self.beginForm(TOTAL_FORM, lowerx=-80 * mm, lowery=-3 * mm, upperx=0, uppery=6 * mm)
            self.setFont(font, small)
            self.drawRightString(0, 0, template.text("footer", "total", pages=pages_seen[0]))
            self.endForm()
            super().save()

    doc = BaseDocTemplate(
        out,
        pagesize=size,
        leftMargin=left,
        rightMargin=right,
        topMargin=top,
        bottomMargin=bottom,
        title=f"{page.report_title} {page.period_label}",
        author=str(meta.get("issuer", "")),
        subject=page.subject or page.period_label,
        creator=str(meta.get("document", "")),
        invariant=1,
        initialFontName=font,
        initialFontSize=template.number("font", "body"),
        lang=str(meta.get("language", "")) or None,
    )
    frame = Frame(
        left,
        bottom,
        size[0] - left - right,
        size[1] - top - bottom,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate("report", [frame], onPage=decorate)])
    doc.build(story, canvasmaker=ReportCanvas)
    return pages_seen[0]
