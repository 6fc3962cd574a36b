"""The one embedded CJK font every report uses.

Why this font and this carrier: archived reports must show the same glyphs in any viewer, so the font is embedded
(subset) rather than referenced. reportlab's built-in STSong-Light is never embedded, and CFF-outline .otf files
(Noto Sans CJK) do not load in reportlab, so the face must have TrueType outlines. WenQuanYi Micro Hei (文泉驿微米黑,
Apache 2.0 / GPLv3 with font exception: redistributable and embeddable) has them, and the PyPI package
`paperang-p2-fonts-cjk` carries its .ttc, so `pip install` provides it on a fresh machine without root.
`LEDGER_PDF_FONT` may point at another TrueType .ttf/.ttc without a code change.

PBOC documents are set in a Song (Ming) or FangSong body. No PyPI package carries such a face with TrueType outlines
today, so the first of SONG_FACES the machine has is used (Debian's fonts-arphic-uming: AR PL UMing, a Ming face
with TrueType outlines that embeds in reportlab), else the packaged sans face; the face used is recorded with each
report's registration (`font_label`).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from ledger.domain.errors import LedgerError

FONT_NAME = "LedgerCJK"
_PACKAGE = "paperang_p2_fonts_cjk"
_PACKAGED = "fonts/wqy-microhei.ttc"
SONG_FACES = (
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming (AR PL UMing)
    "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",  # fonts-arphic-gbsn00lp (AR PL SungtiL GB)
)


class FontMissing(LedgerError):
    """No embeddable CJK font was found: the reports cannot be made (they would show boxes)."""


def font_path() -> Path:
    explicit = os.environ.get("LEDGER_PDF_FONT")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FontMissing(f"LEDGER_PDF_FONT={explicit!r}: 文件不存在 (font file not found)")
        return path
    for song in SONG_FACES:
        if Path(song).is_file():
            return Path(song)
    try:
        path = Path(str(resources.files(_PACKAGE).joinpath(_PACKAGED)))
    except ModuleNotFoundError as exc:
        raise FontMissing(
            "缺少中文字体包 paperang-p2-fonts-cjk (pip install paperang-p2-fonts-cjk, or set LEDGER_PDF_FONT "
            "to a TrueType .ttf/.ttc)"
        ) from exc
    if not path.is_file():  # pragma: no cover - a broken install
        raise FontMissing(f"字体文件缺失 (font file missing): {path}")
    return path


def font_label() -> str:
    """The body face as recorded with a registration: its file name (e.g. wqy-microhei.ttc, uming.ttc)."""
    return font_path().name


def register_font() -> str:
    """Registers the face once per process (about 70 ms to parse the .ttc) and returns its reportlab name."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(font_path()), subfontIndex=0))
    return FONT_NAME


def missing_glyphs(text: str) -> list[str]:
    """Characters of `text` the face cannot draw (they would render as boxes); the tests check every label."""
    font = pdfmetrics.getFont(register_font())
    mapping = font.face.charToGlyph  # type: ignore[attr-defined]
    return sorted({ch for ch in text if not ch.isspace() and ord(ch) not in mapping})
