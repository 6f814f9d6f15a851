"""Reference lists shared by tenders and organizations (DOMAIN.md, "Service categories")."""

from flask_babel import lazy_gettext as _l

SERVICE_CATEGORIES = {
    "elderly_care": _l("Elderly care (养老)"),
    "childcare": _l("Childcare (托育)"),
    "disability": _l("Disability support (助残)"),
    "community_correction": _l("Community correction (社区矫正)"),
    "social_assistance": _l("Social assistance (社会救助)"),
    "minors_youth": _l("Care for minors and youth (未成年人关爱)"),
    "employment": _l("Employment (就业)"),
    "public_health": _l("Public health (卫生健康)"),
    "education": _l("Education (教育)"),
    "public_culture": _l("Public culture (公共文化)"),
    "sports": _l("Sports (体育)"),
    "legal_services": _l("Legal services (法律服务)"),
    "mediation": _l("People's mediation (人民调解)"),
    "emergency": _l("Emergency services (应急)"),
    "social_work": _l("Social work (社会工作)"),
    "volunteer_services": _l("Volunteer services (志愿服务)"),
    "community_governance": _l("Community governance (社区治理)"),
    "veterans": _l("Veterans and entitled groups (优抚安置)"),
    "auxiliary_gov": _l("Auxiliary government services (政府履职辅助性服务)"),
}

FUNDING_SOURCES = {
    "county_budget": _l("County budget (本级财政)"),
    "higher_transfer": _l("Higher-level transfer (上级转移支付)"),
    "social_funds": _l("Social funds (社会资金)"),
    "foundation": _l("Foundation (基金会)"),
}
