"""Labels the operator reads, in Chinese by default and English with `--lang en` or LEDGER_LANG=en.

Why one table: every screen, binding and message takes its words from here, so a label is changed once and the
English interface never drifts from the Chinese one (a test checks both languages have every key). The language is
fixed per process when the UI starts (the CLI sets LEDGER_LANG before it imports the TUI).
"""

from __future__ import annotations

import os

LABELS: dict[str, tuple[str, str]] = {
    # app and navigation
    "app.title": ("专项再贷款再贴现台账", "Relending & Rediscount Ledger"),
    "app.training": ("培训模式/未认证", "TRAINING / not authenticated"),
    "nav.dashboard": ("仪表盘", "Dashboard"),
    "nav.drawdowns": ("台账", "Drawdowns"),
    "nav.new": ("新增发放", "New drawdown"),
    "nav.reference": ("企业机构", "Enterprises"),
    "nav.rules": ("规则", "Rules"),
    "nav.reports": ("报表", "Reports"),
    "nav.sql": ("SQL", "SQL"),
    "nav.audit": ("审计", "Audit"),
    "nav.help": ("帮助", "Help"),
    "nav.quit": ("退出", "Quit"),
    "nav.back": ("返回", "Back"),
    "nav.palette": ("命令", "Commands"),
    "audit.filter_hint": (
        "/ 筛选:action=book actor=张三 entity=drawdown id=20001 2025-06 #记录号 或关键词",
        "/ filter: action=book actor=alice entity=drawdown id=20001 2025-06 #record or a word",
    ),
    "audit.bad_filter": (
        "无法识别的筛选条件(可用 action= actor= entity= id= 日期 #记录号)",
        "Filter not understood (use action= actor= entity= id= a date #record)",
    ),
    "nav.jump": ("转到编号", "Go to #"),
    "jump.title": (
        "转到发放编号(也可在台账搜索框输入 #编号)",
        "Go to drawdown number (or type #number in the list's search box)",
    ),
    "jump.bad": ("请输入发放编号(数字)", "Type a drawdown number (digits)"),
    "nav.language": ("切换语言 English", "切换语言 中文 (language)"),
    "palette.placeholder": ("搜索命令…", "Search for commands…"),
    "lang.form_dirty": (
        "新增发放表单有未保存的内容:先保存或清空(Esc)再切换语言",
        "The new-drawdown form has unsaved input: save or clear it (Esc) before switching language",
    ),
    "common.all": ("全部", "All"),
    "common.yes": ("是", "Yes"),
    "common.no": ("否", "No"),
    "common.cancel": ("取消", "Cancel"),
    "common.confirm": ("确认", "Confirm"),
    "common.save": ("保存", "Save"),
    "common.loading": ("加载中…", "Loading…"),
    "common.error": ("错误", "Error"),
    "common.none": ("无", "None"),
    "common.refresh": ("刷新", "Refresh"),
    "common.unavailable": ("该功能的模块尚未提供", "The module behind this screen is not available yet"),
    "confirm.discard": ("表单有未保存的内容,确定放弃吗?", "The form has unsaved input. Discard it?"),
    "confirm.quit_dirty": (
        "新增发放表单有未保存的内容,仍要退出吗?",
        "The new-drawdown form is unsaved. Quit anyway?",
    ),
    "confirm.discard_button": ("放弃", "Discard"),
    "confirm.keep_button": ("继续编辑", "Keep editing"),
    # units and columns
    "unit.yuan": ("元", "yuan"),
    "unit.wan": ("万元", "10k yuan"),
    "col.id": ("编号", "ID"),
    "col.drawn_on": ("发放日", "Drawn"),
    "col.tool": ("工具", "Tool"),
    "col.institution": ("机构", "Bank"),
    "col.enterprise": ("企业", "Enterprise"),
    "col.amount_yuan": ("央行资金(元)", "Amount (yuan)"),
    "col.maturity_on": ("到期日", "Matures"),
    "col.key_area": ("重点", "Key"),
    "col.status": ("状态", "Status"),
    "col.bill_no": ("票据号码", "Bill number"),
    "col.interest": ("利息(元)", "Interest (yuan)"),
    "col.month_wan": ("本月发放", "This month"),
    "col.ytd_wan": ("本年累计", "Year to date"),
    "col.outstanding_wan": ("余额", "Outstanding"),
    "col.quota": ("额度使用", "Quota used"),
    "col.count": ("笔数", "Count"),
    # statuses
    "status.outstanding": ("存续", "outstanding"),
    "status.matured": ("到期", "matured"),
    "status.repaid": ("已收回", "repaid"),
    "status.reversed": ("已冲正", "reversed"),
    "status.future": ("未起息", "future"),
    # dashboard
    "dash.tools": ("各工具发放与余额(万元)", "Per tool: drawn and outstanding (10k yuan)"),
    "dash.share": ("重点领域占比(本年累计)", "Key-area share, year to date"),
    "dash.maturing": ("未来30天到期", "Maturing in the next 30 days"),
    "dash.findings": ("待处理的检查结果", "Open findings"),
    "dash.no_quota": ("未设额度", "no quota set"),
    "dash.total": ("合计", "Total"),
    "dash.today": ("今日", "Today"),
    "dash.no_findings": ("无检查结果", "No findings"),
    # drawdowns
    "dd.filter.tool": ("工具", "Tool"),
    "dd.filter.institution": ("机构", "Bank"),
    "dd.filter.month": ("月份 YYYY-MM", "Month YYYY-MM"),
    "dd.filter.key": ("重点领域", "Key area"),
    "dd.filter.status": ("状态", "Status"),
    "dd.filter.text": ("企业名称/信用代码/票据号", "Name / USCC / bill number"),
    "dd.count": ("共 {count} 笔", "{count} drawdowns"),
    "dd.sorted": ("排序:{column}{direction}", "sorted by {column}{direction}"),
    "dd.sort.id": ("登记顺序", "booking order"),
    "dd.sort.drawn_on": ("发放日", "drawn on"),
    "dd.sort.maturity_on": ("到期日", "maturity"),
    "dd.sort.amount": ("金额", "amount"),
    "dd.detail": ("详情", "Detail"),
    "dd.no_selection": ("未选中", "Nothing selected"),
    "dd.reverse": ("冲正", "Reverse"),
    "dd.repay": ("收回", "Repay"),
    "dd.rollover": ("展期", "Roll over"),
    "dd.sort": ("排序", "Sort"),
    "dd.direction": ("升/降序", "Asc/desc"),
    "dd.filter": ("筛选", "Filter"),
    "dd.clear": ("清除筛选", "Clear filters"),
    "dd.bad_month": ("月份格式应为YYYY-MM", "Month must be YYYY-MM"),
    "ev.title.reverse": ("冲正第{id}笔", "Reverse drawdown {id}"),
    "ev.title.repay": ("收回第{id}笔", "Repay drawdown {id}"),
    "ev.title.rollover": ("展期第{id}笔", "Roll over drawdown {id}"),
    "ev.reason": ("原因", "Reason"),
    "ev.on": ("日期", "Date"),
    "ev.amount": ("收回金额(元,空=全部剩余)", "Amount (yuan, blank = all remaining)"),
    "ev.to": ("新到期日", "New maturity"),
    "ev.done.reverse": ("已冲正第{id}笔", "Drawdown {id} reversed"),
    "ev.done.repay": ("已登记第{id}笔收回", "Repayment of {id} recorded"),
    "ev.done.rollover": ("已登记第{id}笔展期", "Rollover of {id} recorded"),
    # new drawdown form
    "form.title": ("新增发放", "New drawdown"),
    "form.tool": ("工具", "Tool"),
    "form.institution": ("机构代码", "Bank code"),
    "form.enterprise": ("企业(名称或信用代码)", "Enterprise / USCC"),
    "form.drawn_on": ("发放日", "Drawn on"),
    "form.maturity_on": ("到期日", "Maturity"),
    "form.principal.relending": ("贷款本金(元)", "Loan principal (yuan)"),
    "form.principal.rediscount": ("票面金额(元)", "Bill face (yuan)"),
    "form.amount": ("央行资金(元)", "PBOC amount (yuan)"),
    "form.cb_rate": ("央行利率(%)", "Central-bank rate (%)"),
    "form.lend_rate.relending": ("贷款利率(%)", "Loan rate (%)"),
    "form.lend_rate.rediscount": ("贴现利率(%)", "Discount rate (%)"),
    "form.bill_no": ("票据号码(30位)", "Bill no. (30 digits)"),
    "form.bill_range": ("子票区间(0=未拆分)", "Sub-bill range (0=all)"),
    "form.ext_ref": ("业务编号", "Bank reference"),
    "form.override_reason": ("例外原因(可空)", "Override reason (opt.)"),
    "form.preview": ("预览", "Preview"),
    "form.share_before_after": (
        "本年重点领域占比:{before} → {after}",
        "Year's key-area share: {before} → {after}",
    ),
    "form.key_area": ("重点领域:{answer}({reason})", "Key area: {answer} ({reason})"),
    "form.computed": (
        "央行资金 {amount} 元 · 利率 {rate}% · 利息 {interest} 元",
        "Amount {amount} · rate {rate}% · interest {interest}",
    ),
    "form.booked": ("已登记第{id}笔", "Drawdown {id} booked"),
    "form.queued": (
        "超过审批权限,已提交复核(待审第{id}号)",
        "Above the authority limit: queued for approval (#{id})",
    ),
    "ref.industry_hint": ("国民经济行业代码,如 C3911", "GB/T 4754 code, e.g. C3911"),
    "form.uscc_check": (
        "信用代码校验位错误:末位应为 {expected},输入的是 {got}",
        "USCC check character wrong: the last character should be {expected}, not {got}",
    ),
    "form.rate_default": ("利率表:{rate}%", "rate table: {rate}%"),
    "form.new_enterprise": ("新建企业", "New enterprise"),
    "form.pick": ("选择", "Pick"),
    "form.invalid": ("请先更正标红的字段", "Fix the fields marked in red first"),
    "form.clear": ("清空表单", "Clear form"),
    # enterprises & institutions
    "ref.search": ("搜索企业名称或信用代码", "Search name or USCC"),
    "ref.uscc": ("统一社会信用代码", "USCC"),
    "ref.name": ("名称", "Name"),
    "ref.industry": ("行业代码(GB/T 4754)", "Industry (GB/T 4754)"),
    "ref.size": ("规模", "Size"),
    "ref.statuses": ("资质与名录", "Statuses"),
    "ref.add_enterprise": ("新建企业", "Add enterprise"),
    "ref.add_institution": ("新建机构", "Add bank"),
    "ref.add_status": ("登记资质", "Record status"),
    "ref.status": ("资质", "Status"),
    "ref.valid_from": ("有效期起", "Valid from"),
    "ref.valid_to": ("有效期止(空=默认)", "Valid to (blank = default)"),
    "ref.source": ("来源", "Source"),
    "ref.inst_code": ("机构代码", "Bank code"),
    "ref.inst_name": ("机构名称", "Bank name"),
    "ref.inst_type": ("机构类型", "Bank type"),
    "ref.institutions": ("机构", "Banks"),
    "ref.totals": ("已发放 {count} 笔,合计 {amount} 元", "{count} drawdowns, {amount} yuan"),
    "ref.saved": ("已保存", "Saved"),
    "ref.pick_first": ("请先选中一家企业", "Select an enterprise first"),
    # rules
    "rules.year": ("年度", "Year"),
    "rules.by_tool": ("按工具", "By tool"),
    "rules.by_institution": ("按机构", "By bank"),
    "rules.by_month": ("按月份", "By month"),
    "rules.share": ("占比", "Share"),
    "rules.key_wan": ("重点领域(万元)", "Key area (10k)"),
    "rules.total_wan": ("合计(万元)", "Total (10k)"),
    "rules.headroom.more_non_key_allowed": (
        "尚可发放非重点领域 {amount} 万元",
        "{amount} (10k) more non-key-area money allowed",
    ),
    "rules.headroom.key_area_needed": (
        "尚需重点领域 {amount} 万元",
        "{amount} (10k) more key-area money needed",
    ),
    "rules.headroom.none": ("", ""),
    "rules.pass": ("达标", "pass"),
    "rules.fail": ("未达标", "fail"),
    "rules.drill": ("明细", "Drill down"),
    "rules.why": ("认定依据", "Why"),
    "rules.nothing_drawn": (
        "本年尚无发放,占比无从计算(门槛 ≥{threshold})",
        "Nothing drawn this year: no share to check yet (threshold ≥{threshold})",
    ),
    "rules.key_area_part": ("其中重点领域", "of which key area"),
    "dd.sum": ("合计(不含已冲正)", "Total (reversals excluded)"),
    "rules.findings": ("检查结果", "Findings"),
    "rules.period": ("期间", "Period"),
    "rules.period_help": ("2023、2023Q1 或 2023-01-01~2023-03-31", "2023, 2023Q1 or 2023-01-01~2023-03-31"),
    "rules.measure": ("口径", "Measure"),
    "rules.office": ("经办行", "Office"),
    "rules.all_offices": ("全部", "all"),
    "rules.bad_period": ("期间应写作 2023、2023Q1 或 起~止", "Period: 2023, 2023Q1 or from~to"),
    "rules.reclassified": ("按现知重新认定 {count} 笔", "{count} drawdowns reclassified as now known"),
    # reports
    "rep.month": ("月份 YYYY-MM", "Month YYYY-MM"),
    "rep.generate": ("生成月报", "Generate"),
    "rep.file": ("文件", "File"),
    "rep.generated_at": ("生成时间", "Generated"),
    "rep.period": ("期间", "Period"),
    "rep.out_dir": ("输出目录", "Output folder"),
    "rep.done": ("已生成 {n} 份报表", "{n} reports generated"),
    "rep.running": ("正在生成…", "Generating…"),
    # sql console
    "sql.run": ("执行", "Run"),
    "sql.export": ("导出CSV", "Export CSV"),
    "sql.views": ("文档视图", "Documented views"),
    "sql.rows": ("{shown} 行", "{shown} rows"),
    "sql.rows_capped": ("{shown} / >{shown} 行", "{shown} of >{shown} rows"),
    "sql.exported": ("已导出 {n} 行到 {path}", "{n} rows exported to {path}"),
    "sql.export_path": ("导出文件路径", "Export file path"),
    "sql.placeholder": ("SELECT … (只读)", "SELECT … (read-only)"),
    # audit
    "audit.verify": ("校验链", "Verify chain"),
    "audit.ok": ("审计链完整:{n} 条记录", "Audit chain intact: {n} records"),
    "audit.broken": ("审计链异常:{problem}", "Audit chain broken: {problem}"),
    "audit.page": ("第 {first}–{last} 条,共 {total} 条", "{first}–{last} of {total}"),
    "audit.prev": ("上一页", "Previous page"),
    "audit.next": ("下一页", "Next page"),
    "col.recorded_at": ("时间(UTC)", "Recorded (UTC)"),
    "col.actor": ("用户", "User"),
    "col.action": ("操作", "Action"),
    "col.entity": ("对象", "Entity"),
    "col.rows": ("行数", "Rows"),
    "col.hash": ("哈希", "Hash"),
    # pending (maker-checker)
    "nav.pending": ("待复核", "Pending"),
    "pend.approve": ("批准", "Approve"),
    "pend.reject": ("拒绝", "Reject"),
    "pend.all": ("全部/待复核", "All/pending"),
    "pend.maker": ("经办", "Maker"),
    "pend.checker": ("复核", "Checker"),
    "pend.count": ("待复核 {n} 笔", "{n} waiting for approval"),
    "pend.action.book": ("放款", "Book"),
    "pend.confirm": (
        "批准待复核第{id}号({amount} 元)?批准后立即登记。",
        "Approve #{id} ({amount} yuan)? It is booked at once.",
    ),
    "pend.reject_title": ("拒绝待复核第{id}号", "Reject #{id}"),
    "pend.approved": ("已批准第{id}号,登记结果 {result}", "#{id} approved: result {result}"),
    "pend.rejected": ("已拒绝第{id}号", "#{id} rejected"),
    "pend.reason_required": ("请填写原因", "A reason is required"),
    # help
    "help.title": ("帮助:按键", "Help: keys"),
    "help.global": ("全局", "Everywhere"),
    "help.screen": ("本页", "This screen"),
    "help.palette": ("Ctrl+P 打开命令面板,输入即可搜索命令", "Ctrl+P opens the command palette"),
}


def current_language() -> str:
    return "en" if os.environ.get("LEDGER_LANG", "zh").lower().startswith("en") else "zh"


_LANG = current_language()


def set_language(lang: str) -> None:
    """For tests and the CLI: choose the language before screens are built."""
    global _LANG
    _LANG = "en" if lang.lower().startswith("en") else "zh"


def language() -> str:
    return _LANG


def t(key: str, **values: object) -> str:
    """The label for `key` in the current language, formatted with `values`; an unknown key shows itself."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    text = pair[1] if _LANG == "en" else pair[0]
    return text.format(**values) if values else text
