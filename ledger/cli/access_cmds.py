"""Access commands: users and roles, the four-eyes queue (pending / approve / reject), policy, and backups.

Every command goes through the `Ledger` facade, which authenticates the acting user (the PostgreSQL login or the OS
account), checks their role inside the write's transaction and audits refusals; here we only parse and print.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

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

    p = sub.add_parser("pending", help="待复核事项 (items waiting for a checker); `pending show ID` for one")
    p.add_argument("show", nargs="?", choices=("show",), help="show one item in full")
    p.add_argument("id", nargs="?", type=int, help="with show: the item's id")
    p.add_argument("--all", action="store_true", help="包括已批准和已拒绝的 (include decided items)")
    add_json_flag(p)
    p.set_defaults(func=cmd_pending)

    pol = sub.add_parser("policy", help="政策(限额、额度、规则)记录 (the ledger's policy)")
    pol_sub = pol.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    p = pol_sub.add_parser("show", help="列出生效的政策 (the policy in force)")
    p.add_argument("--as-of", type=_date, default=None, help="YYYY-MM-DD (default today)")
    p.add_argument("--history", action="store_true", help="每项的全部记录 (every record of each key)")
    add_json_flag(p)
    p.set_defaults(func=cmd_policy_show)
    p = pol_sub.add_parser(
        "set", help="提出政策变更,经复核员或另一管理员批准后生效 (propose a change; admin; needs approval)"
    )
    p.add_argument(
        "key", help="e.g. maker_checker.default_limit_yuan, tools.JCT.annual_quota_yuan, share.threshold"
    )
    p.add_argument("value", help="数值、列表(逗号分隔或JSON)、true/false,或 none 取消 (a value, or none)")
    p.add_argument("--from", dest="effective_from", type=_date, required=True, help="生效日 YYYY-MM-DD")
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_policy_set)

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


def _date(text: str) -> date:
    from ledger.domain.dates import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def cmd_user_add(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    user = ledger.add_user(args.name, args.role)
    where = (
        "数据库登录 (PostgreSQL login)"
        if ledger.engine.dialect.name == "postgresql"
        else "操作系统账户 (OS account)"
    )
    print(f"用户 {user.name}: {user.role_label} ({user.role}) — {where}")
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
        "intact": item.intact,
        "problem": item.problem,
        "payload": item.payload,
    }


def _summary(item: PendingItem) -> str:
    if not item.intact:
        return f"!! {item.problem}"
    if item.action == "policy":
        return f"{item.tool_code or ''}政策变更".lstrip()
    return f"{item.tool_code}\t{fen_to_yuan(item.amount_fen)}"


def cmd_pending(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    if args.show:
        if args.id is None:
            raise CommandFailed("用法错误 (usage error): ledger pending show ID", 2)
        item = ledger.pending_item(args.id)
        if args.json:
            print(json.dumps(jsonable(_row(item)), ensure_ascii=False, indent=1))
            return 0
        print(
            f"待复核事项 {item.id}: {item.action_label} · {item.status_label} · 经办 {item.maker} {item.created_at}"
        )
        if not item.intact:
            raise CommandFailed(f"警告 (warning): {item.problem} — 不得批准 (do not approve)", 1)
        for line in _payload_lines(item):
            print(f"  {line}")
        return 0
    items = ledger.pending(None if args.all else "pending")
    if args.json:
        print(json.dumps(jsonable([_row(i) for i in items]), ensure_ascii=False))
        return 0
    if not items:
        print("无待复核事项 (nothing pending)")
    for i in items:
        line = f"{i.id}\t{i.status_label}\t{i.action_label}\t{_summary(i)}\t经办 {i.maker}\t{i.created_at}"
        if i.status != "pending":
            line += f"\t复核 {i.checker} {i.decision_reason}".rstrip()
        print(line)
    return 0


def _payload_lines(item: PendingItem) -> list[str]:
    """What will be written if approved, from the stored (and chain-checked) content itself."""
    p = item.payload
    if item.action == "book":
        request = p.get("request", {})
        return [f"{k}: {v}" for k, v in request.items() if v not in (None, "", {}, [])]
    if item.action == "policy":
        return [f"{k}: {json.dumps(p[k], ensure_ascii=False) if k == 'value' else p[k]}" for k in p]
    if item.action == "import":
        return [f"{k}: {v}" for k, v in p.items() if k != "content_b64"]
    return [f"{k}: {v}" for k, v in p.items()]


def cmd_approve(args: argparse.Namespace) -> int:
    from ledger.io import importer  # noqa: F401 - registers the executor of queued imports

    item, result_id = open_ledger(args).approve(args.id)
    what = {
        "book": "放款编号 (drawdown id)",
        "reverse": "冲正事件编号 (reversal event id)",
        "import": "导入审计记录 (import audit record)",
        "policy": "政策记录的审计编号 (policy audit record)",
    }.get(item.action, "")
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


def cmd_policy_show(args: argparse.Namespace) -> int:
    from ledger.config import default_policy

    ledger = open_ledger(args)
    day = args.as_of or date.today()
    book = ledger.policy
    entries = book.entries_on(day)
    keys = sorted(set(entries) | set(default_policy()))
    rows: list[dict[str, Any]] = []
    for key in keys:
        entry = entries.get(key)
        rows.append(
            {
                "key": key,
                "value": entry.value if entry else default_policy().get(key),
                "effective_from": entry.effective_from if entry else None,
                "reason": entry.reason if entry else "未记录,采用内置默认值 (not recorded: packaged default)",
                "audit_id": entry.audit_id if entry else None,
                "history": [
                    {
                        "value": e.value,
                        "effective_from": e.effective_from,
                        "reason": e.reason,
                        "audit_id": e.audit_id,
                    }
                    for e in book.entries
                    if e.key == key
                ]
                if args.history
                else None,
            }
        )
    if args.json:
        print(json.dumps(jsonable({"as_of": day, "policy": rows}), ensure_ascii=False, indent=1))
        return 0
    print(f"政策 (policy) as of {day.isoformat()}")
    for r in rows:
        value = "未设定 (none)" if r["value"] is None else json.dumps(r["value"], ensure_ascii=False)
        since = f"自 {r['effective_from']}" if r["effective_from"] else ""
        print(f"{r['key']}\t{value}\t{since}\t{r['reason']}")
        for h in r["history"] or []:
            print(f"    {h['effective_from']}\t{json.dumps(h['value'], ensure_ascii=False)}\t{h['reason']}")
    return 0


def cmd_policy_set(args: argparse.Namespace) -> int:
    queued = open_ledger(args).set_policy(args.key, args.value, args.effective_from, args.reason)
    print(
        f"政策变更已提交复核,待复核编号 {queued.pending_id};须复核员或另一管理员批准 "
        f"(pending approval by a checker or another admin)",
        file=sys.stderr,
    )
    print(f"pending:{queued.pending_id}")
    return 0
