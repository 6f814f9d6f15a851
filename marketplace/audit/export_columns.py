"""The layout of the contract exports: which kinds of record, and the columns of each.

Each kind is a CSV file of its own (``--kind``), a sheet of the XLSX workbook, and a list nested in
each contract of the JSON file.
"""

from __future__ import annotations

# Sheets (and ``--kind`` values) in the order an XLSX workbook holds them.
EXPORT_KINDS = (
    "contracts",
    "milestones",
    "payments",
    "variations",
    "service_record_totals",
    "evaluations",
    "history",
)

# Columns per kind: (key, header, type). Headers are bilingual and fixed, not translated: they are part
# of the file format, so a file reads (and scripts parse it) the same whoever exported it, in whatever
# language; JSON uses the keys. Types: "money" (2 decimals), "date", "datetime", "int", "text".
# A code column (a status, a stage) is followed by its label in the language of the person exporting
# (key ``<code>_label``, header "…名称 … label"): scripts read the code, people read the label.
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "contracts": [
        ("id", "编号 ID", "int"),
        ("reference", "合同编号 Reference", "text"),
        ("title", "合同名称 Title", "text"),
        ("status", "状态 Status", "text"),
        ("status_label", "状态名称 Status label", "text"),
        ("tender_reference", "项目编号 Tender reference", "text"),
        ("category", "服务类别 Category", "text"),
        ("category_label", "服务类别名称 Category label", "text"),
        ("district", "区县 District", "text"),
        ("agency", "采购单位 Agency", "text"),
        ("organization", "承接机构 Organization", "text"),
        ("organization_uscc", "统一社会信用代码 USCC", "text"),
        ("award_published_at", "中标公告时间 Award published", "datetime"),
        ("contract_date", "合同日期 Contract date", "date"),
        ("term_start", "服务期起 Term start", "date"),
        ("term_end", "服务期止 Term end", "date"),
        ("original_value", "合同原金额 Original value", "money"),
        ("value", "合同金额 Value", "money"),
        ("due_total", "已验收应付 Due (accepted milestones)", "money"),
        ("paid_total", "已支付 Paid", "money"),
        ("remaining", "未支付 Remaining", "money"),
        ("milestones", "里程碑数 Milestones", "int"),
        ("milestones_accepted", "已验收里程碑 Milestones accepted", "int"),
        ("variations_approved", "已批准变更 Variations approved", "int"),
        ("service_records", "服务记录数 Service records", "int"),
        ("beneficiaries", "服务人次 Beneficiaries", "int"),
        ("hours", "服务时长 Hours", "money"),
        ("acceptance_result", "终期验收结果 Final acceptance", "text"),
        ("acceptance_result_label", "终期验收结果名称 Final acceptance label", "text"),
        ("acceptance_representatives", "服务对象代表人数 Recipient representatives", "int"),
        ("officer_signed_at", "采购单位签署 Signed by the agency", "datetime"),
        ("org_signed_at", "机构签署 Signed by the organization", "datetime"),
        ("completed_at", "完成时间 Completed", "datetime"),
        ("terminated_at", "终止时间 Terminated", "datetime"),
    ],
    "milestones": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("position", "序号 Position", "int"),
        ("deliverable", "交付内容 Deliverable", "text"),
        ("kind", "类型 Kind", "text"),
        ("kind_label", "类型名称 Kind label", "text"),
        ("due_date", "到期日 Due date", "date"),
        ("amount", "付款金额 Amount", "money"),
        ("is_final", "终期 Final", "text"),
        ("status", "状态 Status", "text"),
        ("status_label", "状态名称 Status label", "text"),
        ("met_on", "完成日 Met on", "date"),
        ("overdue_days", "逾期天数 Days overdue", "int"),
    ],
    "payments": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("id", "支付 ID Payment ID", "int"),
        ("paid_on", "支付日期 Paid on", "date"),
        ("amount", "金额 Amount", "money"),
        ("reference", "凭证号 Reference", "text"),
        ("milestone_id", "里程碑 ID Milestone ID", "int"),
        ("recorded_at", "登记时间 Recorded", "datetime"),
    ],
    "variations": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("id", "变更 ID Variation ID", "int"),
        ("status", "状态 Status", "text"),
        ("status_label", "状态名称 Status label", "text"),
        ("reason", "理由 Reason", "text"),
        ("changes", "变更内容 Changes", "text"),
        ("previous", "变更前 Previous terms", "text"),
        ("requested_at", "申请时间 Requested", "datetime"),
        ("decided_at", "决定时间 Decided", "datetime"),
        ("decision_note", "决定说明 Decision note", "text"),
    ],
    "service_record_totals": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("month", "月份 Month", "text"),
        ("records", "记录数 Records", "int"),
        ("quantity", "数量 Quantity", "money"),
        ("beneficiaries", "服务人次 Beneficiaries", "int"),
        ("hours", "服务时长 Hours", "money"),
    ],
    "evaluations": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("stage", "评价阶段 Stage", "text"),
        ("stage_label", "评价阶段名称 Stage label", "text"),
        ("status", "状态 Status", "text"),
        ("status_label", "状态名称 Status label", "text"),
        ("assessor", "评价人员 Assessor", "text"),
        ("template", "指标体系 Indicator template", "text"),
        ("total", "总分 Total score", "money"),
        ("grade", "等级 Grade", "text"),
        ("grade_label", "等级名称 Grade label", "text"),
        ("submitted_at", "提交时间 Submitted", "datetime"),
    ],
    "history": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("at", "时间 Time", "datetime"),
        ("kind", "环节 Kind", "text"),
        ("action", "操作 Action", "text"),
        ("party", "主体 Party", "text"),
        ("account", "账号 Account", "text"),
        ("text", "内容 Text", "text"),
    ],
}

# Formula injection (OWASP "CSV injection", issue 17 item 6): a spreadsheet program runs a cell that
# starts with one of these as a formula. In CSV files a text cell starting so gets a leading single
# quote, as OWASP recommends; only text columns do: amounts, counts and dates are written as numbers and
# dates (a negative amount stays -12.00). XLSX writes such a value as a string cell, never a formula;
# JSON is data, not a spreadsheet, and is left as it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_positions(kind: str) -> tuple[int, ...]:
    """The positions of the text columns of ``kind`` (those a formula could hide in)."""
    return tuple(i for i, (_key, _header, typ) in enumerate(COLUMNS[kind]) if typ == "text")


def neutral(value):
    """A text cell as written to CSV: with a leading ``'`` when it would start a formula."""
    if type(value) is str and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value
