"""Users and roles: who may do what, checked in the same transaction as the write it guards.

Four roles, separated on purpose so one person cannot book money alone and an auditor cannot change anything:
operator (book, import, events), checker (approve, reject), auditor (read, SQL, backup), admin (reference data,
month close, users, policy changes, backup). Reading needs no role. A user is an authenticated identity
(ledger.services.identity): a PostgreSQL login, for which `add_user` also provisions the database grants of the
role (ledger.services.staff_roles), or an OS account on SQLite.

Bootstrap: while app_user is empty every acting user may do everything, so the embedded single-user default needs
no set-up. The first user added must be an admin (otherwise nobody could add the next one), and the last active
admin cannot be demoted or disabled. Every change records the user's whole state in the chain, so a row edited
behind the ledger's back is named by `audit verify`. Every refusal is itself audited (`log_refusal`, in its own
transaction, because the refused write rolls back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, Table, func, insert, select, update

from ledger.db.models import AppUser
from ledger.domain.errors import PermissionDenied, ValidationError
from ledger.services import staff_roles
from ledger.services.audit import append_audit, append_state
from ledger.services.identity import os_account_exists

ROLES: dict[str, str] = {"operator": "操作员", "checker": "复核员", "auditor": "审计员", "admin": "管理员"}

# action -> roles allowed once users exist; labels are what a refused user reads.
PERMISSIONS: dict[str, tuple[frozenset[str], str]] = {
    "book": (frozenset({"operator"}), "登记放款"),
    "import": (frozenset({"operator"}), "导入"),
    "event": (frozenset({"operator"}), "冲正/收回/展期"),
    "approve": (frozenset({"checker"}), "复核(批准/拒绝)"),
    "approve_policy": (frozenset({"checker", "admin"}), "复核政策变更"),
    "reference": (frozenset({"admin"}), "维护参考数据"),
    "policy": (frozenset({"admin"}), "提出政策变更"),
    "close": (frozenset({"admin"}), "月结"),
    "users": (frozenset({"admin"}), "管理用户"),
    "backup": (frozenset({"admin", "auditor"}), "备份"),
    "report": (frozenset({"operator", "checker", "admin"}), "生成报表"),
}

AUDITOR_DB_ROLE = "ledger_auditor"
_PG_LOGIN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_USERS: Table = AppUser.__table__  # type: ignore[attr-defined]
_C = _USERS.c


class Refused(PermissionDenied):
    """The acting user may not do this; carries what to audit."""

    def __init__(self, message: str, actor: str, action: str) -> None:
        super().__init__(message)
        self.actor = actor
        self.action = action


@dataclass(frozen=True)
class User:
    name: str
    role: str
    active: bool

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(select(_C.name, _C.role, _C.active).order_by(_C.name))
    return [User(r[0], r[1], bool(r[2])) for r in rows]


def find_user(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(_C.name, _C.role, _C.active).where(_C.name == name)).first()
    return User(row[0], row[1], bool(row[2])) if row else None


def bootstrap_mode(conn: Connection) -> bool:
    """No users yet: everyone acts as admin with every permission (documented in docs/reliability.md)."""
    return conn.execute(select(_C.name).limit(1)).first() is None


def require(conn: Connection, actor: str, action: str) -> None:
    """Raises Refused unless `actor` may perform `action` now."""
    allowed, label = PERMISSIONS[action]
    if bootstrap_mode(conn):
        return
    user = find_user(conn, actor)
    if user is None:
        raise Refused(
            f"用户 {actor!r} 未登记,无权{label} (unknown user; an admin adds users with `ledger user add`)",
            actor,
            action,
        )
    if not user.active:
        raise Refused(f"用户 {actor!r} 已停用,无权{label} (user disabled)", actor, action)
    if user.role not in allowed:
        roles = "、".join(ROLES[r] for r in sorted(allowed))
        raise Refused(
            f"用户 {actor!r}({user.role_label})无权{label},需要角色:{roles} (role {user.role} may not {action})",
            actor,
            action,
        )


def log_refusal(conn: Connection, actor: str, action: str, message: str, detail: str = "") -> int:
    """The audit record of a refused attempt; written in its own transaction by the caller."""
    return append_audit(
        conn, actor, "refused", "permission", action, {"action": action, "message": message, "detail": detail}
    )


def _active_admins(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(_USERS).where(_C.role == "admin", _C.active.is_(True))
        ).scalar_one()
    )


def _check_role(role: str) -> str:
    clean = (role or "").strip().lower()
    if clean not in ROLES:
        raise ValidationError.single("role", role, f"角色应为 {'/'.join(ROLES)} (unknown role)")
    return clean


def add_user(conn: Connection, actor: str, name: str, role: str, *, training: bool = False) -> User:
    """Adds a user, or changes an existing user's role (and re-activates them). Both are audited; on PostgreSQL
    the login gets the role's database grants in the same transaction."""
    clean_name = (name or "").strip()
    if not clean_name or len(clean_name) > 100:
        raise ValidationError.single("name", name, "用户名必填,至多100字符 (required, ≤ 100 characters)")
    clean_role = _check_role(role)
    if conn.dialect.name == "postgresql" and not _PG_LOGIN.match(clean_name):
        raise ValidationError.single(
            "name", name, "数据库登录名只能含小写字母、数字和下划线 (a PostgreSQL login: a-z, 0-9, _)"
        )
    if conn.dialect.name == "sqlite" and not training and not os_account_exists(clean_name):
        raise ValidationError.single(
            "name",
            name,
            "不是本机操作系统账户 (not an OS account on this machine: SQLite users are OS accounts)",
        )
    if bootstrap_mode(conn) and clean_role != "admin":
        raise ValidationError.single(
            "role",
            role,
            "第一个用户须为管理员 (the first user must be an admin, or nobody could add the next one)",
        )
    current = find_user(conn, clean_name)
    if current is None:
        conn.execute(insert(_USERS).values(name=clean_name, role=clean_role, active=True))
        action, extra = "create", {}
    else:
        if current.role == "admin" and clean_role != "admin" and current.active and _active_admins(conn) <= 1:
            raise ValidationError.single(
                "role", role, "不能降级最后一个管理员 (the last active admin must stay)"
            )
        conn.execute(update(_USERS).where(_C.name == clean_name).values(role=clean_role, active=True))
        action, extra = "update", {"previous": {"role": current.role, "active": current.active}}
    staff_roles.provision_login(conn, clean_name, clean_role)
    append_state(conn, actor, action, "app_user", clean_name, extra)
    return User(clean_name, clean_role, True)


def disable_user(conn: Connection, actor: str, name: str) -> None:
    current = find_user(conn, name)
    if current is None:
        raise ValidationError.single("name", name, "无此用户 (no such user)")
    if current.role == "admin" and current.active and _active_admins(conn) <= 1:
        raise ValidationError.single("name", name, "不能停用最后一个管理员 (the last active admin must stay)")
    conn.execute(update(_USERS).where(_C.name == name).values(active=False))
    staff_roles.provision_login(conn, name, None)
    append_state(conn, actor, "disable", "app_user", name, {"previous": {"active": current.active}})
