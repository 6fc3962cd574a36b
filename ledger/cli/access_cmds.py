"""Access commands: users and roles, the four-eyes queue (pending / approve / reject) and backups.

Every command goes through the `Ledger` facade, which checks the acting user's role (`--user`, $LEDGER_USER or
the OS user) inside the write's transaction and audits refusals; here we only parse and print.
"""

from __future__ import annotations

import argparse
import json

from ledger.cli.common import CommandFailed, add_json_flag, jsonable, open_ledger
from ledger.domain.money import fen_to_yuan
from ledger.services.approval import PendingItem
from ledger.services.users import ROLES


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds this group's subcommands to the `ledger` parser."""
    user = sub.add_parser("user", help="用户与角色 (users and roles)")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = user_sub.add_parser("add", help="添加用户或更改角色 (add a user or change a role; admin)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=tuple(ROLES), help="operator / checker / auditor / admin")
    p.set_defaults(func=cmd_user_add)
    p = user_sub.add_parser("list", help="列出用户 (list users)")
    add_json_flag(p)
    p.set_defaults(func=cmd_user_list)
    p = user_sub.add_parser("disable", help="停用用户 (disable a user; admin)")
    p.add_argument("name")
    p.set_defaults(func=cmd_user_disable)

    p = sub.add_parser("pending", help="待复核事项 (items waiting for a checker)")
    p.add_argument("--all", action="store_true", help="包括已批准和已拒绝的 (include decided items)")
    add_json_flag(p)
    p.set_defaults(func=cmd_pending)

    p = sub.add_parser("approve", help="批准待复核事项 (approve a pending item; checker, not its maker)")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_approve)

    p = sub.add_parser("reject", help="拒绝待复核事项 (reject a pending item; a reason is required)")
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_reject)

    p = sub.add_parser(
        "backup", help="在线备份 (consistent copy while in use: SQLite file or pg_dump archive)"
    )
    p.add_argument("out", help="新文件路径 (a new file; never overwritten)")
    p.set_defaults(func=cmd_backup)


def cmd_user_add(args: argparse.Namespace) -> int:
    user = open_ledger(args).add_user(args.name, args.role)
    print(f"用户 {user.name}: {user.role_label} ({user.role})")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    users = open_ledger(args).list_users()
    if args.json:
        print(
            json.dumps(
                [{"name": u.name, "role": u.role, "active": u.active} for u in users], ensure_ascii=False
            )
        )
        return 0
    if not users:
        print("尚无用户:所有人按管理员处理 (no users yet: everyone acts as admin until the first is added)")
    for u in users:
        print(f"{u.name}\t{u.role_label}({u.role})\t{'在用' if u.active else '已停用'}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    open_ledger(args).disable_user(args.name)
    print(f"用户 {args.name} 已停用 (disabled)")
    return 0


def _row(item: PendingItem) -> dict[str, object]:
    return {
        "id": item.id,
        "action": item.action,
        "tool_code": item.tool_code,
        "amount": fen_to_yuan(item.amount_fen),
        "maker": item.maker,
        "created_at": item.created_at,
        "status": item.status,
        "checker": item.checker,
        "decided_at": item.decided_at,
        "reason": item.decision_reason,
        "result_id": item.result_id,
        "payload": item.payload,
    }


def cmd_pending(args: argparse.Namespace) -> int:
    items = open_ledger(args).pending(None if args.all else "pending")
    if args.json:
        print(json.dumps(jsonable([_row(i) for i in items]), ensure_ascii=False))
        return 0
    if not items:
        print("无待复核事项 (nothing pending)")
    for i in items:
        what = "放款" if i.action == "book" else "冲正"
        line = f"{i.id}\t{i.status_label}\t{what}\t{i.tool_code}\t{fen_to_yuan(i.amount_fen)}\t经办 {i.maker}\t{i.created_at}"
        if i.status != "pending":
            line += f"\t复核 {i.checker} {i.decision_reason}".rstrip()
        print(line)
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    item, result_id = open_ledger(args).approve(args.id)
    what = "放款编号 (drawdown id)" if item.action == "book" else "冲正事件编号 (reversal event id)"
    print(f"已批准 {item.id} (approved): {what} {result_id}")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    item = open_ledger(args).reject(args.id, args.reason)
    print(f"已拒绝 {item.id} (rejected)")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    result = open_ledger(args).backup(args.out)
    print(
        f"已备份 (backed up): {result.path} ({result.backend}, {result.size} bytes, sha256 {result.sha256})"
    )
    if result.verified is not None:
        print(f"副本审计校验通过 (audit verify on the copy: OK, {result.verified.records} records)")
    elif result.backend == "postgresql":
        print(f"恢复 (restore): createdb NEW && pg_restore --no-owner --dbname NEW {result.path}")
    else:  # pragma: no cover - every backend is handled above
        raise CommandFailed("unknown backend", 1)
    return 0
