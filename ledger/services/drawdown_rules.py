"""The booking rules, as a pure function: a request, the tool and the borrower's facts in; a row or problems out.

`book`, the importer, the demo generator and the TUI form all call `prepare_drawdown`, so a rule is written once
and a row is judged the same whichever face it came through. Database questions (is the bill already booked, is the
month closed) are the caller's; everything decidable from the inputs is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledger.domain.bills import max_bill_term_months, parse_bill_number, parse_bill_range, range_units
from ledger.domain.dates import add_months, parse_date
from ledger.domain.eligibility import eligibility_problem
from ledger.domain.enterprise import EnterpriseFacts
from ledger.domain.errors import FieldProblem, ValidationError
from ledger.domain.key_area import KeyAreaDefinition, classify
from ledger.domain.limits import length_problems
from ledger.domain.measures import measures_met, measures_text
from ledger.domain.money import MoneyError, interest_fen, parse_rate, parse_yuan, rate_to_ppm, yuan_to_fen
from ledger.tools import Catalogue, Tool

# Bounds as constants: building a Decimal per check was measurable when a million rows are judged.
_ZERO, _HUNDRED, _TEN_TRILLION, _FEN = Decimal(0), Decimal(100), Decimal("1e13"), Decimal("0.01")


@dataclass
class BookingRequest:
    """What a user typed or a file row held; values may be text, Decimal, int or date (never float)."""

    tool: str
    institution_code: str
    enterprise_uscc: str
    drawn_on: Any
    maturity_on: Any
    amount: Any = None  # central-bank amount, yuan
    principal: Any = None  # loan principal or bill face, yuan
    cb_rate: Any = None  # percent; default from the rate table
    lend_rate: Any = None  # percent
    bill_no: str | None = None
    bill_range: str | None = None
    batch_ref: str = ""
    ext_ref: str = ""
    override_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    office: str = ""  # the PBOC office that handled it; blank: the bank's office


@dataclass(frozen=True)
class PreparedDrawdown:
    """Column values ready to insert (ids of institution and enterprise are filled by the caller)."""

    tool: Tool
    values: dict[str, Any]
    warnings: tuple[str, ...] = ()

    @property
    def drawn_on(self) -> date:
        value: date = self.values["drawn_on"]
        return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def resolve_tool(catalogue: Catalogue, name: str, problems: list[FieldProblem]) -> Tool | None:
    tool = catalogue.find(name or "")
    if tool is None:
        problems.append(
            FieldProblem("tool", name or "", "未知工具 (unknown tool: use a code or the exact Chinese name)")
        )
    return tool


def tenor_for(tool: Tool, drawn_on: date, maturity_on: date) -> int:
    """The tenor whose rate the drawdown takes: the shortest allowed tenor that covers its own term (支农支小
    3/6/12 months). A tool with no tenors of its own that follows a table by tenor (a product configured onto the
    支农支小 table) takes the shortest tabled tenor covering the term. A term longer than every tenor takes the
    longest (the term check refuses it anyway); 0 for single-rate tables."""
    tenors = tool.tenors_months or tuple(t for t in tool.rate_table.tenors if t)
    for months in tenors:
        if maturity_on <= add_months(drawn_on, months):
            return months
    return max(tenors, default=0)


def prepare_drawdown(
    request: BookingRequest,
    catalogue: Catalogue,
    facts: EnterpriseFacts | None,
    key_areas: KeyAreaDefinition,
    measures: Mapping[str, KeyAreaDefinition] | None = None,
) -> PreparedDrawdown:
    """Validates every field and computes the derived ones; raises ValidationError listing all problems.
    `measures`: the definitions the borrower is classified under at booking besides the key areas."""
    return judge_borrower(check_fields(request, catalogue), facts, key_areas, measures)


@dataclass
class CheckedFields:
    """The half of the booking rules that needs nothing of the borrower, for one request. A bulk import runs it
    for the next chunk of rows while the previous chunk is written; `judge_borrower` finishes the booking."""

    tool: Tool | None
    drawn_on: date | None
    values: dict[str, Any]  # every column but key_area / key_area_reason once `problems` is empty
    warnings: Sequence[str]  # read, never added to: the importer passes the tuples its checker process sent
    problems: Sequence[FieldProblem]


def check_fields(request: BookingRequest, catalogue: Catalogue) -> CheckedFields:
    """Every rule about the request's own fields (tool, dates, amounts, rates, bill, term); collects problems."""
    problems: list[FieldProblem] = length_problems(
        {
            "ext_ref": request.ext_ref,
            "batch_ref": request.batch_ref,
            "override_reason": request.override_reason,
            "bill_range": request.bill_range,
        }
    )
    warnings: list[str] = []
    tool = resolve_tool(catalogue, request.tool, problems)

    drawn_on = maturity_on = None
    for name in ("drawn_on", "maturity_on"):
        raw = getattr(request, name)
        if _blank(raw):
            problems.append(FieldProblem(name, "", "日期必填 (required)"))
            continue
        try:
            parsed = parse_date(raw)
        except ValueError as exc:
            problems.append(FieldProblem(name, str(raw), str(exc)))
            continue
        if name == "drawn_on":
            drawn_on = parsed
        else:
            maturity_on = parsed
    if drawn_on and maturity_on and maturity_on <= drawn_on:
        problems.append(
            FieldProblem(
                "maturity_on", maturity_on.isoformat(), "到期日须晚于发放日 (must be after drawn_on)"
            )
        )

    amount = _money(request.amount, "amount", problems, required=False)
    principal = _money(request.principal, "principal", problems, required=False)
    if amount is None and principal is None and not any(p.field in ("amount", "principal") for p in problems):
        problems.append(FieldProblem("amount", "", "金额必填 (central-bank amount or principal required)"))

    cb_rate = _rate(request.cb_rate, "cb_rate", problems)
    lend_rate = _rate(request.lend_rate, "lend_rate", problems)
    if lend_rate is None and _blank(request.lend_rate):
        problems.append(FieldProblem("lend_rate", "", "贷款/贴现利率必填 (end-borrower rate required)"))

    office = (request.office or "").strip()
    if len(office) > 60:
        problems.append(
            FieldProblem("office", office, "经办行名称至多60字符 (office: at most 60 characters)")
        )
    values: dict[str, Any] = {
        "office": office,
        "measures": None,
        "batch_ref": (request.batch_ref or "").strip(),
        "ext_ref": (request.ext_ref or "").strip(),
        "override_reason": (request.override_reason or "").strip(),
        "bill_no": None,
        "bill_range": None,
        "interest_fen": 0,
    }
    if tool is not None and drawn_on is not None:
        tool = catalogue.on(drawn_on).find(tool.code) or tool  # as configured on the drawdown's date
        if not tool.available_on(drawn_on):
            window = f"{tool.valid_from or '…'} — {tool.valid_to or '…'}"
            problems.append(
                FieldProblem("tool", request.tool, f"{tool.name}在{drawn_on}不可用 (tool available {window})")
            )
        if tool.kind == "rediscount":
            amount, principal = _rediscount(
                request, drawn_on, maturity_on, amount, principal, values, problems
            )
        else:
            amount, principal = _relending(tool, drawn_on, maturity_on, amount, principal, problems)
            if not _blank(request.bill_no):
                problems.append(
                    FieldProblem(
                        "bill_no", str(request.bill_no), "再贷款不填票据号码 (relending has no bill)"
                    )
                )

        tenor = tenor_for(tool, drawn_on, maturity_on) if maturity_on else 0
        table_rate = tool.rate_table.rate_on(drawn_on, tenor)
        if cb_rate is None and not any(p.field == "cb_rate" for p in problems):
            if table_rate is None:
                problems.append(
                    FieldProblem(
                        "cb_rate", "", f"{drawn_on}无公布利率,须填写 (no published rate on that date)"
                    )
                )
            cb_rate = table_rate
        elif cb_rate is not None and table_rate is not None and cb_rate != table_rate:
            warnings.append(
                f"央行利率{cb_rate}%与利率表{table_rate}%不符,已标记 (rate differs from table, flagged)"
            )
        values["table_rate_ppm"] = rate_to_ppm(table_rate) if table_rate is not None else None

        if tool.lend_rate_cap is not None and lend_rate is not None and lend_rate > tool.lend_rate_cap:
            if not values["override_reason"]:
                problems.append(
                    FieldProblem(
                        "lend_rate",
                        str(lend_rate),
                        f"超过{tool.name}贷款利率上限{tool.lend_rate_cap}% (above the tool's cap)",
                    )
                )
            else:
                warnings.append(f"贷款利率高于上限,依例外原因登记:{values['override_reason']}")

    if not problems:
        assert tool is not None and drawn_on is not None and maturity_on is not None
        assert amount is not None and principal is not None and cb_rate is not None
        values.update(
            tool_code=tool.code,
            drawn_on=drawn_on,
            maturity_on=maturity_on,
            amount_fen=yuan_to_fen(amount),
            principal_fen=yuan_to_fen(principal),
            cb_rate_ppm=rate_to_ppm(cb_rate),
            lend_rate_ppm=rate_to_ppm(lend_rate) if lend_rate is not None else None,
        )
        if tool.kind == "rediscount":
            days = (maturity_on - drawn_on).days
            values["interest_fen"] = interest_fen(values["amount_fen"], values["cb_rate_ppm"], days)
    return CheckedFields(tool, drawn_on, values, warnings, problems)


def judge_borrower(
    checked: CheckedFields,
    facts: EnterpriseFacts | None,
    key_areas: KeyAreaDefinition,
    measures: Mapping[str, KeyAreaDefinition] | None = None,
) -> PreparedDrawdown:
    """The borrower's half: eligibility for the tool on drawn_on (or an override reason) and the key-area
    decision; raises ValidationError with every problem of both halves, the fields' first. The returned
    drawdown's values are `checked.values` completed (not a copy): a CheckedFields is judged once."""
    problems, warnings = checked.problems, checked.warnings
    tool, drawn_on, override = checked.tool, checked.drawn_on, checked.values["override_reason"]
    if facts is not None and tool is not None and drawn_on is not None:
        problem, warning = eligibility_finding(tool, drawn_on, override, facts)
        if problem is not None:
            problems = [*problems, problem]
        if warning is not None:
            warnings = [*warnings, warning]
    if problems:
        raise ValidationError(problems)
    assert tool is not None and drawn_on is not None
    decision = classify(facts, drawn_on, key_areas) if facts else None
    values = checked.values
    values["key_area"] = decision.key_area if decision else False
    values["key_area_reason"] = decision.reason if decision else ""
    met = measures_met(facts, drawn_on, measures or {}, tool.eligibility) if facts else ()
    values["measures"] = measures_text(met)
    return PreparedDrawdown(tool, values, tuple(warnings))


def eligibility_finding(
    tool: Tool, drawn_on: date, override_reason: str, facts: EnterpriseFacts
) -> tuple[FieldProblem | None, str | None]:
    """Whether the borrower may draw under the tool on drawn_on: a problem, or, where an override reason was
    given, a warning that it was booked on that reason; (None, None) for an eligible borrower. judge_borrower's
    rule, also called on its own by the importer, which keeps a row's fields as a ready row rather than a dict."""
    problem = eligibility_problem(tool.eligibility, facts, drawn_on)
    if not problem:
        return None, None
    if not override_reason:
        return FieldProblem("enterprise_uscc", facts.uscc, problem + " (or give an override reason)"), None
    return None, f"不符合支持对象,依例外原因登记:{override_reason}"


def _money(raw: Any, name: str, problems: list[FieldProblem], required: bool) -> Decimal | None:
    if _blank(raw):
        if required:
            problems.append(FieldProblem(name, "", "必填 (required)"))
        return None
    try:
        value = parse_yuan(raw)
    except MoneyError as exc:
        problems.append(FieldProblem(name, str(raw), f"金额格式错误 ({exc})"))
        return None
    if value <= 0:
        problems.append(FieldProblem(name, str(raw), "金额须为正数 (must be positive)"))
        return None
    if value >= _TEN_TRILLION:
        problems.append(FieldProblem(name, str(raw), "金额过大 (above 10 trillion yuan)"))
        return None
    return value


def _rate(raw: Any, name: str, problems: list[FieldProblem]) -> Decimal | None:
    if _blank(raw):
        return None
    text = str(raw).strip().rstrip("%") if isinstance(raw, str) else raw
    try:
        value = parse_rate(text)
    except MoneyError as exc:
        problems.append(FieldProblem(name, str(raw), f"利率格式错误,单位为% ({exc})"))
        return None
    if not _ZERO <= value < _HUNDRED:
        problems.append(FieldProblem(name, str(raw), "利率应在0至100(%)之间 (percent per year, 0–100)"))
        return None
    return value


def _relending(
    tool: Tool,
    drawn_on: date,
    maturity_on: date | None,
    amount: Decimal | None,
    principal: Decimal | None,
    problems: list[FieldProblem],
) -> tuple[Decimal | None, Decimal | None]:
    if maturity_on is not None and tool.max_term_months is not None:
        limit = add_months(drawn_on, tool.max_term_months)
        if maturity_on > limit:
            problems.append(
                FieldProblem(
                    "maturity_on",
                    maturity_on.isoformat(),
                    f"期限超过{tool.max_term_months}个月 (term beyond {tool.name}'s {tool.max_term_months} months: ≤ {limit})",
                )
            )
    share = tool.funding_share
    if share is not None:
        if principal is None:
            if amount is not None:
                problems.append(
                    FieldProblem(
                        "principal", "", f"{tool.name}按贷款本金的{share:%}发放,须填本金 (principal required)"
                    )
                )
            return amount, principal
        expected = (principal * share).quantize(_FEN, rounding=ROUND_HALF_UP)
        if amount is None:
            amount = expected
        elif amount != expected:
            problems.append(
                FieldProblem(
                    "amount",
                    str(amount),
                    f"央行资金应为本金×{share:%}={expected} (funding share × principal)",
                )
            )
        return amount, principal
    if amount is None:
        amount = principal
    if principal is None:
        principal = amount
    if amount is not None and principal is not None and principal < amount:
        problems.append(
            FieldProblem("principal", str(principal), "贷款本金不得小于央行资金 (principal below amount)")
        )
    return amount, principal


def _rediscount(
    request: BookingRequest,
    drawn_on: date,
    maturity_on: date | None,
    amount: Decimal | None,
    principal: Decimal | None,
    values: dict[str, Any],
    problems: list[FieldProblem],
) -> tuple[Decimal | None, Decimal | None]:
    if _blank(request.bill_no):
        problems.append(FieldProblem("bill_no", "", "再贴现须填票据号码 (rediscount needs the bill number)"))
    else:
        try:
            bill = parse_bill_number(str(request.bill_no))
        except ValueError as exc:
            problems.append(FieldProblem("bill_no", str(request.bill_no), str(exc)))
        else:
            values["bill_no"] = bill.number
            if bill.issued_on > drawn_on:
                problems.append(
                    FieldProblem(
                        "bill_no", bill.number, f"出票日{bill.issued_on}晚于再贴现日 (issued after drawn_on)"
                    )
                )
            if maturity_on is not None:
                months = max_bill_term_months(bill.issued_on)
                limit = add_months(bill.issued_on, months)
                if maturity_on > limit:
                    problems.append(
                        FieldProblem(
                            "maturity_on",
                            maturity_on.isoformat(),
                            f"票据期限超过{months}个月 (bill issued {bill.issued_on} may run to {limit} at most)",
                        )
                    )
    try:
        values["bill_range"] = parse_bill_range(request.bill_range)
    except ValueError as exc:
        problems.append(FieldProblem("bill_range", str(request.bill_range), str(exc)))
    if amount is None:
        amount = principal
    if principal is None:
        principal = amount
    if amount is not None and principal is not None and amount != principal:
        problems.append(
            FieldProblem("amount", str(amount), f"再贴现金额应等于票面金额{principal} (amount = face)")
        )
    units = range_units(values.get("bill_range") or "0")
    if units is not None and principal is not None and yuan_to_fen(principal) != units:
        problems.append(
            FieldProblem(
                "bill_range",
                str(request.bill_range),
                f"子票区间{units}个单位(每单位0.01元)与票面{principal}元不符 (range must equal the face amount)",
            )
        )
    return amount, principal
