"""File columns: the canonical English names the import reads and the export writes, and their Chinese headers.

One table serves both directions, so an export always re-imports: the exporter writes `HEADERS_ZH` or the English
names, and the importer accepts either (case, spaces and full-width brackets ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.domain.errors import FieldProblem

# canonical name → Chinese header (the first alias), in the order the export writes them.
DRAWDOWN_COLUMNS: dict[str, tuple[str, ...]] = {
    "tool": ("工具", "工具名称", "工具代码"),
    "institution_code": ("机构代码", "银行代码"),
    "institution_name": ("机构名称", "银行名称"),
    "enterprise_uscc": ("统一社会信用代码", "信用代码", "uscc"),
    "enterprise_name": ("企业名称",),
    "industry_code": ("行业代码",),
    "enterprise_size": ("企业规模", "size"),
    "enterprise_statuses": ("企业资质", "statuses"),
    "drawn_on": ("发放日期", "再贴现日期", "贴现日期"),
    "maturity_on": ("到期日期", "到期日"),
    "amount": ("金额", "央行资金", "amount_yuan"),
    "principal": ("本金/票面金额", "本金", "票面金额", "principal_yuan"),
    "cb_rate": ("央行利率", "再贴现利率", "再贷款利率", "cb_rate_pct"),
    "lend_rate": ("贷款利率/贴现利率", "贷款利率", "贴现利率", "lend_rate_pct"),
    "bill_no": ("票据号码", "票号"),
    "bill_range": ("子票区间",),
    "ref": ("业务编号", "ext_ref"),
    "batch_ref": ("批次编号", "申请批次"),
}
# Columns the import reads that the export does not (yet) write: the PBOC office that handled the drawdown
# (营业管理部, 中关村中心支行 …); a blank cell, or no such column, takes the bank's office.
IMPORT_ONLY_COLUMNS: dict[str, tuple[str, ...]] = {
    "office": ("经办行", "人民银行经办行", "经办机构", "办理行"),
}
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {**DRAWDOWN_COLUMNS, **IMPORT_ONLY_COLUMNS}
REQUIRED: tuple[str, ...] = (
    "tool",
    "institution_code",
    "enterprise_uscc",
    "drawn_on",
    "maturity_on",
    "lend_rate",
)
ONE_OF: tuple[tuple[str, ...], ...] = (("amount", "principal"),)
# Names the booking rules (BookingRequest, prepare_drawdown, validate_enterprise) give fields, where they differ
# from the file's column names: how the checker passes cells to the rules and how a problem names its column.
FIELD_TO_COLUMN = {"ext_ref": "ref", "institution_type": "institution_code"}

ENTERPRISE_COLUMNS: dict[str, tuple[str, ...]] = {
    "enterprise_uscc": ("统一社会信用代码", "信用代码", "uscc"),
    "enterprise_name": ("企业名称", "name"),
    "industry_code": ("行业代码",),
    "enterprise_size": ("企业规模", "size"),
    "status": ("资质", "企业资质"),
    "valid_from": ("有效期起", "认定日期"),
    "valid_to": ("有效期止",),
    "source": ("来源", "认定文件"),
}
ENTERPRISE_REQUIRED: tuple[str, ...] = (
    "enterprise_uscc",
    "enterprise_name",
    "industry_code",
    "enterprise_size",
)


def _key(text: str) -> str:
    return (
        text.strip()
        .lstrip("\ufeff")
        .lower()
        .replace(" ", "")
        .replace("_", "")
        .replace("（", "(")
        .replace("）", ")")
    )


@dataclass(frozen=True)
class HeaderMap:
    """Where each canonical column sits in the file, and the columns the import ignores (reported as warnings)."""

    index: dict[str, int]
    ignored: tuple[str, ...]

    def has(self, name: str) -> bool:
        return name in self.index


def map_header(
    header: list[str],
    columns: dict[str, tuple[str, ...]] = IMPORT_COLUMNS,
    required: tuple[str, ...] = REQUIRED,
    one_of: tuple[tuple[str, ...], ...] = ONE_OF,
) -> tuple[HeaderMap, list[FieldProblem]]:
    """Maps a header row to canonical names; problems for missing required columns and repeated ones."""
    lookup: dict[str, str] = {}
    for name, aliases in columns.items():
        lookup[_key(name)] = name
        for alias in aliases:
            lookup[_key(alias)] = name
    index: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[FieldProblem] = []
    for position, cell in enumerate(header):
        found = lookup.get(_key(cell or ""))
        if found is None:
            if (cell or "").strip():
                ignored.append(cell.strip())
            continue
        if found in index:
            problems.append(FieldProblem(found, cell, "列重复 (column appears twice)"))
            continue
        index[found] = position
    for name in required:
        if name not in index:
            zh = columns[name][0]
            problems.append(FieldProblem(name, "", f"缺少必需列「{zh}」({name}) (missing required column)"))
    for group in one_of:
        if not any(name in index for name in group):
            names = "/".join(f"{columns[n][0]}({n})" for n in group)
            problems.append(FieldProblem(group[0], "", f"缺少列 {names} 之一 (missing column)"))
    return HeaderMap(index, tuple(ignored)), problems


def export_header(language: str = "en") -> list[str]:
    """The header the export writes: English canonical names by default, Chinese with language='zh'."""
    if language == "zh":
        return [aliases[0] for aliases in DRAWDOWN_COLUMNS.values()]
    return list(DRAWDOWN_COLUMNS)
