"""Booking drawdowns: the database half of the rules (existence, double booking, closed months) and the write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, select
from sqlmodel import col

from ledger.db.models import Drawdown, DrawdownEvent
from ledger.domain.dates import parse_date
from ledger.domain.errors import FieldProblem, NotFound, ValidationError, nul_problems
from ledger.services.audit import begin_audit, serialise_writes
from ledger.services.closing import ensure_open
from ledger.services.controls import Controls
from ledger.services.drawdown_rules import BookingRequest, PreparedDrawdown, prepare_drawdown
from ledger.services.policy import PolicyBook
from ledger.services.reference import enterprise_facts, find_enterprise, get_institution


@dataclass(frozen=True)
class Booked:
    id: int
    warnings: tuple[str, ...]
    values: dict[str, Any]


def ranges_overlap(a: str, b: str) -> bool:
    """'0' is the whole bill and overlaps anything; otherwise closed integer intervals."""
    if a == "0" or b == "0":
        return True
    a1, a2 = (int(x) for x in a.split("-"))
    b1, b2 = (int(x) for x in b.split("-"))
    return a1 <= b2 and b1 <= a2


def not_reversed():  # type: ignore[no-untyped-def]
    return ~exists().where(
        and_(col(DrawdownEvent.drawdown_id) == col(Drawdown.id), col(DrawdownEvent.kind) == "reversal")
    )


def bill_conflict(conn: Connection, bill_no: str, bill_range: str) -> int | None:
    """The id of a live drawdown holding any part of this (sub-)bill, or None."""
    rows = conn.execute(
        select(col(Drawdown.id), col(Drawdown.bill_range)).where(
            col(Drawdown.bill_no) == bill_no, not_reversed()
        )
    ).all()
    for other_id, other_range in rows:
        if ranges_overlap(bill_range, other_range or "0"):
            return int(other_id or 0)
    return None


def ref_conflict(conn: Connection, institution_id: int, ext_ref: str) -> int | None:
    if not ext_ref:
        return None
    row = conn.execute(
        select(col(Drawdown.id)).where(
            col(Drawdown.institution_id) == institution_id, col(Drawdown.ext_ref) == ext_ref, not_reversed()
        )
    ).first()
    return int(row[0] or 0) if row else None


def policy_date(request: BookingRequest) -> date:
    """The date whose policy judges the request: its drawn_on (today's while that is missing or malformed, so the
    field's own error is what the user sees)."""
    try:
        return parse_date(request.drawn_on)
    except (ValueError, TypeError, OverflowError):
        return date.today()


def prepare(conn: Connection, policy: PolicyBook, request: BookingRequest) -> PreparedDrawdown:
    """Every rule, pure and database, with all problems collected; nothing is written. The rules are the policy
    in force on the drawdown's date."""
    if nul := nul_problems(vars(request)):
        raise ValidationError(nul)
    config = policy.config_on(policy_date(request))
    problems: list[FieldProblem] = []
    institution_id = enterprise_id = None
    office = ""
    try:
        institution = get_institution(conn, request.institution_code or "")
        institution_id, office = institution.id, institution.office
    except NotFound as exc:
        problems.append(
            FieldProblem("institution_code", request.institution_code or "", str(exc).split(": ", 1)[-1])
        )
    facts = None
    enterprise = find_enterprise(conn, request.enterprise_uscc or "")
    if enterprise is None:
        problems.append(
            FieldProblem(
                "enterprise_uscc", request.enterprise_uscc or "", "未登记的企业 (unknown enterprise)"
            )
        )
    else:
        enterprise_id = enterprise.id
        facts = enterprise_facts(conn, enterprise)
    try:
        prepared = prepare_drawdown(request, config.catalogue, facts, config.key_areas, config.definitions())
    except ValidationError as exc:
        raise ValidationError(problems + exc.problems) from None
    if problems:
        raise ValidationError(problems)
    values = prepared.values
    values["institution_id"], values["enterprise_id"] = institution_id, enterprise_id
    values["office"] = values["office"] or office  # the bank's office unless the request names one
    if values["bill_no"]:
        other = bill_conflict(conn, values["bill_no"], values["bill_range"])
        if other is not None:
            problems.append(
                FieldProblem(
                    "bill_no",
                    f"{values['bill_no']} {values['bill_range']}",
                    f"票据已登记于第{other}笔 (bill already booked)",
                )
            )
    assert institution_id is not None
    other_ref = ref_conflict(conn, institution_id, values["ext_ref"])
    if other_ref is not None:
        problems.append(
            FieldProblem(
                "ext_ref", values["ext_ref"], f"业务编号已登记于第{other_ref}笔 (reference already booked)"
            )
        )
    if problems:
        raise ValidationError(problems)
    ensure_open(conn, values["drawn_on"], "drawn_on")
    return prepared


def insert_prepared(
    conn: Connection,
    actor: str,
    prepared: PreparedDrawdown,
    action: str = "book",
    extra: dict[str, Any] | None = None,
) -> Booked:
    values = prepared.values
    audit = begin_audit(
        conn,
        actor,
        action,
        "drawdown",
        "",
        {**(extra or {}), "drawdown": values, "warnings": list(prepared.warnings)},
    )
    audit.digest.add("drawdown", values)
    audit.share.add(
        values["drawn_on"],
        values["tool_code"],
        values["key_area"],
        values["institution_id"],
        values["amount_fen"],
        values["office"],
        values["measures"],
    )
    new_id = int(conn.execute(insert(Drawdown).values(**values, audit_id=audit.id)).inserted_primary_key[0])  # type: ignore[index]
    audit.entity_id = str(new_id)
    audit.commit(conn)
    return Booked(new_id, prepared.warnings, values)


def admit(controls: Controls, prepared: PreparedDrawdown, *, approved: bool = False) -> None:
    """The controls (quota, balance cap; the authority limit is noted in `controls.above_limit`) for one booking:
    a batch of one through the same function an import's rows go through."""
    values = prepared.values
    problem = controls.admit(
        prepared.tool.code,
        values["drawn_on"],
        values["maturity_on"],
        int(values["amount_fen"]),
        approved=approved,
    )
    if problem is not None:
        raise ValidationError(problem)


def book(
    conn: Connection,
    policy: PolicyBook,
    actor: str,
    request: BookingRequest,
    extra: dict[str, Any] | None = None,
) -> Booked:
    """Books an approved request (the authority limit was met by the approval): every rule and control again."""
    serialise_writes(conn)
    prepared = prepare(conn, policy, request)
    admit(Controls(conn, policy), prepared, approved=True)
    return insert_prepared(conn, actor, prepared, extra=extra)
