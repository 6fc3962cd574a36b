"""Reference data: banks, end borrowers and their dated statuses. Every change is audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, insert, select, update
from sqlmodel import col

from ledger.db.models import Enterprise, EnterpriseStatus, Institution
from ledger.domain.dates import add_months
from ledger.domain.enterprise import (
    ALL_STATUSES,
    EnterpriseFacts,
    StatusEntry,
    normalise_size,
    normalise_status,
)
from ledger.domain.errors import FieldProblem, NotFound, ValidationError, nul_problems
from ledger.domain.industry import industry_problem, normalise_industry
from ledger.domain.limits import length_problems
from ledger.domain.uscc import normalise_uscc, uscc_problem
from ledger.services.audit import append_audit, begin_audit, reference_payload

INSTITUTION_TYPES = (
    "国有大型商业银行",
    "股份制商业银行",
    "城市商业银行",
    "农村商业银行",
    "民营银行",
    "外资银行",
    "政策性银行",
    "其他",
)


@dataclass(frozen=True)
class EnterpriseInput:
    uscc: str
    name: str
    industry_code: str
    size: str


def validate_enterprise(data: EnterpriseInput) -> EnterpriseInput:
    """Normalises and checks every field, collecting all problems so a form or import row shows them together."""
    problems = nul_problems({"enterprise_name": data.name})
    uscc = normalise_uscc(data.uscc or "")
    if (p := uscc_problem(uscc)) is not None:
        problems.append(FieldProblem("enterprise_uscc", data.uscc or "", p))
    name = (data.name or "").strip()
    if not name:
        problems.append(FieldProblem("enterprise_name", "", "企业名称不能为空 (required)"))
    elif len(name) > 200:
        problems.append(FieldProblem("enterprise_name", name, "企业名称过长 (at most 200 characters)"))
    industry = normalise_industry(data.industry_code or "")
    if (p := industry_problem(industry)) is not None:
        problems.append(FieldProblem("industry_code", data.industry_code or "", p))
    size = ""
    try:
        size = normalise_size(data.size or "")
    except ValueError as exc:
        problems.append(FieldProblem("enterprise_size", data.size or "", str(exc)))
    if problems:
        raise ValidationError(problems)
    return EnterpriseInput(uscc, name, industry, size)


def get_institution(conn: Connection, code: str) -> Institution:
    row = conn.execute(select(Institution).where(col(Institution.code) == code.strip())).first()
    if row is None:
        raise NotFound(f"institution_code={code!r}: 未登记的机构 (unknown institution; add it first)")
    return Institution(**row._mapping)


def add_institution(
    conn: Connection, actor: str, code: str, name: str, type_: str = "", office: str = ""
) -> int:
    code, name, office = code.strip(), name.strip(), office.strip()
    problems = nul_problems(
        {"institution_code": code, "institution_name": name, "institution_type": type_, "office": office}
    )
    problems += length_problems({"institution_name": name})
    if len(office) > 60:
        problems.append(
            FieldProblem("office", office, "经办行名称至多60字符 (office: at most 60 characters)")
        )
    if not code or len(code) > 40:
        problems.append(
            FieldProblem("institution_code", code, "机构代码必填,至多40字符 (required, ≤ 40 characters)")
        )
    if not name:
        problems.append(FieldProblem("institution_name", name, "机构名称必填 (required)"))
    if type_ and type_ not in INSTITUTION_TYPES:
        problems.append(
            FieldProblem("institution_type", type_, f"机构类型应为 {'/'.join(INSTITUTION_TYPES)}")
        )
    if problems:
        raise ValidationError(problems)
    if conn.execute(select(col(Institution.id)).where(col(Institution.code) == code)).first():
        raise ValidationError.single("institution_code", code, "机构代码已存在 (already registered)")
    new_id = conn.execute(
        insert(Institution).values(code=code, name=name, type=type_, office=office)
    ).inserted_primary_key[0]  # type: ignore[index]
    append_audit(
        conn,
        actor,
        "create",
        "institution",
        code,
        {"code": code, "name": name, "type": type_, "office": office},
    )
    return int(new_id)


def find_enterprise(conn: Connection, uscc: str) -> Enterprise | None:
    row = conn.execute(select(Enterprise).where(col(Enterprise.uscc) == normalise_uscc(uscc))).first()
    return Enterprise(**row._mapping) if row else None


def get_enterprise(conn: Connection, uscc: str) -> Enterprise:
    found = find_enterprise(conn, uscc)
    if found is None:
        raise NotFound(f"enterprise_uscc={uscc!r}: 未登记的企业 (unknown enterprise; add it first)")
    return found


def add_enterprise(conn: Connection, actor: str, data: EnterpriseInput) -> int:
    clean = validate_enterprise(data)
    if find_enterprise(conn, clean.uscc) is not None:
        raise ValidationError.single("enterprise_uscc", clean.uscc, "企业已登记 (already registered)")
    new_id = conn.execute(
        insert(Enterprise).values(
            uscc=clean.uscc, name=clean.name, industry_code=clean.industry_code, size=clean.size
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    append_audit(conn, actor, "create", "enterprise", clean.uscc, reference_payload("enterprise", clean))
    return int(new_id)


def update_enterprise(conn: Connection, actor: str, data: EnterpriseInput) -> None:
    """Reference data may change (a renamed firm); the old values stay in the audit trail."""
    clean = validate_enterprise(data)
    current = get_enterprise(conn, clean.uscc)
    conn.execute(
        update(Enterprise)
        .where(col(Enterprise.id) == current.id)
        .values(name=clean.name, industry_code=clean.industry_code, size=clean.size)
    )
    append_audit(
        conn,
        actor,
        "update",
        "enterprise",
        clean.uscc,
        {**reference_payload("enterprise", clean), "previous": reference_payload("enterprise", current)},
    )


def default_valid_to(status: str, valid_from: date) -> date | None:
    """高新技术企业 certificates run 3 years from issue, to the day before the anniversary."""
    years = ALL_STATUSES.get(status)
    return None if years is None else add_months(valid_from, 12 * years) - timedelta(days=1)


def add_status(
    conn: Connection,
    actor: str,
    uscc: str,
    status: str,
    valid_from: date,
    valid_to: date | None = None,
    source: str = "",
) -> int:
    """A certificate or list membership with its validity; valid_to defaults from the status's usual term."""
    try:
        name = normalise_status(status)
    except ValueError as exc:
        raise ValidationError.single("status", status, str(exc)) from exc
    enterprise = get_enterprise(conn, uscc)
    end = valid_to if valid_to is not None else default_valid_to(name, valid_from)
    if end is not None and end < valid_from:
        raise ValidationError.single("valid_to", end, "有效期止不得早于起 (valid_to before valid_from)")
    row = {
        "enterprise_id": enterprise.id,
        "status": name,
        "valid_from": valid_from,
        "valid_to": end,
        "source": source,
    }
    audit = begin_audit(
        conn, actor, "add_status", "enterprise", enterprise.uscc, {**row, "uscc": enterprise.uscc}
    )
    audit.digest.add("enterprise_status", row)
    new_id = conn.execute(insert(EnterpriseStatus).values(**row, audit_id=audit.id)).inserted_primary_key[0]  # type: ignore[index]
    audit.commit(conn)
    return int(new_id)


def enterprise_facts(conn: Connection, enterprise: Enterprise) -> EnterpriseFacts:
    rows = conn.execute(
        select(
            col(EnterpriseStatus.status), col(EnterpriseStatus.valid_from), col(EnterpriseStatus.valid_to)
        ).where(col(EnterpriseStatus.enterprise_id) == enterprise.id)
    ).all()
    return EnterpriseFacts(
        enterprise.uscc,
        enterprise.industry_code,
        enterprise.size,
        tuple(StatusEntry(r[0], _as_date(r[1]), _as_date(r[2]) if r[2] else None) for r in rows),
    )


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def statuses_of(conn: Connection, enterprise_ids: Iterable[int]) -> dict[int, list[StatusEntry]]:
    ids = list(enterprise_ids)
    out: dict[int, list[StatusEntry]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for r in conn.execute(
            select(
                col(EnterpriseStatus.enterprise_id),
                col(EnterpriseStatus.status),
                col(EnterpriseStatus.valid_from),
                col(EnterpriseStatus.valid_to),
            ).where(col(EnterpriseStatus.enterprise_id).in_(chunk))
        ):
            out[r[0]].append(StatusEntry(r[1], _as_date(r[2]), _as_date(r[3]) if r[3] else None))
    return out
