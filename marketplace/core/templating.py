"""Jinja filters and globals: local times, money, labels from the catalogues, the policy module."""

from __future__ import annotations

from decimal import Decimal

from flask import request
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from marketplace.core import labels, permissions
from marketplace.core.catalogue import FUNDING_SOURCES, SERVICE_CATEGORIES


def money(value) -> str:
    if value is None:
        return ""
    return f"¥{Decimal(value):,.2f}"


def localtime(value, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    if value is None:
        return ""
    return format_datetime(value, fmt)


def nl2br(value: str) -> Markup:
    return Markup("<br>").join(escape(value or "").split("\n"))


def isodatetime(value: str) -> str:
    from datetime import datetime

    try:
        return localtime(datetime.fromisoformat(value), "yyyy-MM-dd HH:mm:ss")
    except (TypeError, ValueError):
        return value or ""


def role_label(role: str) -> str:
    return {
        "officer": _("Procurement officer"),
        "org_member": _("Organization member"),
        "evaluator": _("Evaluator"),
        "auditor": _("Auditor"),
        "admin": _("Administrator"),
        "grid_worker": _("Grid worker"),
    }.get(role, role)


def init_app(app) -> None:
    app.jinja_env.filters.update(
        money=money,
        localtime=localtime,
        nl2br=nl2br,
        status_label=lambda status: labels.label("tender", status),
        status_badge=lambda status: labels.badge("tender", status),
        role_label=role_label,
        bid_status_label=lambda status: labels.label("bid", status),
        isodatetime=isodatetime,
        category_label=lambda c: SERVICE_CATEGORIES.get(c, c),
        funding_label=lambda c: FUNDING_SOURCES.get(c, c),
    )

    @app.context_processor
    def _globals():
        from marketplace.core.notifications import unread_count

        unread = unread_count(current_user) if current_user and current_user.is_authenticated else 0
        return {
            "unread_notifications": unread,
            "can": lambda action, obj=None: permissions.can(current_user, action, obj),
            "current_locale": str(get_locale() or "zh_CN"),
            "current_path": request.full_path.rstrip("?") if request else "/",
        }
