"""The history kind of the contract exports: every matching contract's timeline in one ordered query.

The same timeline as a contract's history page (:func:`marketplace.audit.history.histories`, the
auditors' view), built set-based: a UNION ALL of

1. the audit events of each contract and of its tender (bid events only once the tender's bids were
   opened; never one line per service record), with the acting account's party (its agency or
   organization) joined in;
2. payments that have no audit event of their own (e.g. loaded in bulk);
3. service records summed per month, placed at the last record logged that month;

ordered by contract, time, event id (0 for the other two), then payments before monthly totals.
The database writes every cell it can, the texts of payments and monthly totals too (their message
translated once per export and passed in); Python only gives each audit event its kind of step and
its text, translated into the reader's language with its parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from flask_babel import get_translations
from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)

from marketplace.audit.export_sql import iso_date, local_moment, money, money_grouped, month_of, stream
from marketplace.audit.history import _ROLE_PARTIES, kind_of
from marketplace.audit.models import AuditEvent
from marketplace.audit.sealed import sealed_bid_event_filter
from marketplace.auth.models import Agency, User
from marketplace.contracts.models import Payment, ServiceRecord
from marketplace.core.messages import labelled_params, render
from marketplace.orgs.models import Organization

EVENT, PAYMENT, TOTALS = 0, 1, 2
_PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])|%%|%")


class _Texts:
    """What is said in the reader's language, looked up once per export."""

    CACHED = 10_000  # distinct summaries kept translated (message ids repeat; old literal texts may not)

    def __init__(self):
        self.translate = get_translations().gettext
        self.system = _("System")
        self.roles = {role: str(label) for role, label in _ROLE_PARTIES.items()}
        self.kinds: dict[str, str] = {}
        self.translated: dict[str, str] = {}

    def kind(self, action: str) -> str:
        kind = self.kinds.get(action)
        if kind is None:
            kind = self.kinds[action] = kind_of(action)
        return kind

    def render(self, summary: str | None, params) -> str:
        """As :func:`marketplace.core.messages.render`, with the catalogue looked up once per summary."""
        if not summary:
            return ""
        text = self.translated.get(summary)
        if text is None:
            if len(self.translated) >= self.CACHED:
                self.translated.clear()
            text = self.translated[summary] = self.translate(summary)
        if not params:
            return text
        try:
            return text % labelled_params(summary, params)
        except (KeyError, ValueError, TypeError):
            return render(summary, params)  # its fallbacks and warning

    def message_sql(self, msgid: str, values: dict):
        """The translated message with ``values`` (SQL text expressions) put in its placeholders, as one
        SQL concatenation; the message id itself when a translation has placeholders it does not fit.
        (The two messages are the history page's, marked for translation in ``audit/history.py``.)"""
        for template in (self.translate(msgid), msgid):
            parts, end = [], 0
            for match in _PLACEHOLDER.finditer(template):
                parts.append(literal(template[end : match.start()], String))
                end = match.end()
                if match.group(0) == "%%":
                    parts.append(literal("%", String))
                elif match.group(1) in values:
                    parts.append(values[match.group(1)])
                else:
                    break
            else:
                parts.append(literal(template[end:], String))
                text = parts[0]
                for part in parts[1:]:
                    text = text + part
                return text
        raise ValueError(f"message {msgid!r} does not fit {sorted(values)}")

    def party(self):
        """The party of the joined account: its agency or organization, its role, or the system."""
        role = case(
            *((User.role == r, literal(label, String)) for r, label in self.roles.items()), else_=User.role
        )
        return func.coalesce(
            func.nullif(Agency.name, ""),
            func.nullif(Organization.name, ""),
            case((User.id.is_(None), literal(self.system, String)), else_=role),
        )


def _with_party(stmt, user_id):
    """``stmt`` joined with the acting account (``user_id``) and the agency or organization it acts for."""
    return (
        stmt.outerjoin(User, User.id == user_id)
        .outerjoin(Agency, Agency.id == User.agency_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
    )


def _nothing(type_):
    return cast(null(), type_)


def _text(column):
    return cast(column, String)


def _events(m, texts: _Texts):
    """Audit events: those of a matching contract go to it; the other events of its tender too."""
    own = and_(AuditEvent.object_type == "contract", AuditEvent.object_id == _text(m.c.id))
    of_matching_contract = and_(
        AuditEvent.object_type == "contract",
        AuditEvent.object_id.in_(select(_text(m.c.id))),
    )
    visible = and_(sealed_bid_event_filter(), AuditEvent.action != "contract.service_logged")
    parts = []
    for joined, extra in (
        (own, true()),
        (AuditEvent.tender_id == m.c.tender_id, not_(of_matching_contract)),
    ):
        stmt = select(
            m.c.id.label("contract_id"),
            m.c.reference.label("contract_reference"),
            AuditEvent.occurred_at.label("at"),
            AuditEvent.id.label("event_id"),
            literal(EVENT, Integer).label("source"),
            literal(0, Integer).label("tiebreak"),
            literal("", String).label("month"),
            _nothing(String).label("kind"),  # Python's: kind_of(action)
            AuditEvent.action.label("action"),
            texts.party().label("party"),
            AuditEvent.actor_label.label("account"),
            _nothing(String).label("text"),  # Python's: the summary rendered with its parameters
            AuditEvent.summary.label("summary"),
            AuditEvent.params.label("params"),
        ).select_from(AuditEvent)
        stmt = _with_party(stmt.join(m, joined), AuditEvent.actor_id)
        parts.append(stmt.where(visible, extra))
    return parts


def _payments(m, texts: _Texts):
    """Payments without a ``contract.payment_recorded`` event of the contract or its tender naming them."""
    recorded = (
        select(AuditEvent.id)
        .where(
            AuditEvent.action == "contract.payment_recorded",
            AuditEvent.changes["payment_id"].as_integer() == Payment.id,
            or_(
                and_(
                    AuditEvent.object_type == "contract", AuditEvent.object_id == _text(Payment.contract_id)
                ),
                AuditEvent.tender_id == m.c.tender_id,
            ),
        )
        .exists()
    )
    text = texts.message_sql(
        "Payment of %(amount)s on %(day)s (%(reference)s)",
        {
            "amount": literal("¥", String) + money_grouped(Payment.amount),
            "day": iso_date(Payment.paid_on),
            "reference": Payment.reference,
        },
    )
    stmt = select(
        m.c.id,
        m.c.reference,
        Payment.recorded_at,
        literal(0, Integer),
        literal(PAYMENT, Integer),
        Payment.id,
        literal("", String),
        literal("payment", String),
        literal("payment", String),
        texts.party(),
        func.coalesce(User.email, ""),
        text,
        _nothing(String),
        _nothing(JSON),
    ).select_from(Payment)
    return _with_party(stmt.join(m, m.c.id == Payment.contract_id), Payment.recorded_by_id).where(~recorded)


def _service_totals(m, texts: _Texts):
    """Service records summed per contract and month (grouped on the two alone, then named)."""
    month = month_of(ServiceRecord.service_date).label("month")
    totals = (
        select(
            ServiceRecord.contract_id,
            month,
            func.count(ServiceRecord.id).label("records"),
            func.sum(ServiceRecord.quantity).label("quantity"),
            func.sum(ServiceRecord.beneficiaries).label("beneficiaries"),
            func.sum(ServiceRecord.hours).label("hours"),
            func.max(ServiceRecord.recorded_at).label("at"),
        )
        .where(ServiceRecord.contract_id.in_(select(m.c.id)))
        .group_by(ServiceRecord.contract_id, month)
        .subquery("totals")
    )
    text = texts.message_sql(
        "%(month)s: %(records)d record(s), quantity %(quantity)s, "
        "%(beneficiaries)d beneficiaries, %(hours)s hours",
        {
            "month": totals.c.month,
            "records": _text(totals.c.records),
            "quantity": money(totals.c.quantity),
            "beneficiaries": _text(totals.c.beneficiaries),
            "hours": money(totals.c.hours),
        },
    )
    return (
        select(
            m.c.id,
            m.c.reference,
            totals.c.at,
            literal(0, Integer),
            literal(TOTALS, Integer),
            literal(0, Integer),
            totals.c.month,
            literal("service_totals", String),
            literal("service_totals", String),
            func.coalesce(Organization.name, ""),
            literal("", String),
            text,
            _nothing(String),
            _nothing(JSON),
        )
        .select_from(totals)
        .join(m, m.c.id == totals.c.contract_id)
        .outerjoin(Organization, Organization.id == m.c.organization_id)
    )


def timeline_query(m, texts: _Texts | None = None):
    """Every step of every matching contract (``m``: the matching contracts' subquery), in order: the
    history kind's eight columns, then an audit event's summary and parameters (its kind and text are
    NULL: :func:`history_rows` fills them in)."""
    u = steps(m, texts or _Texts())
    return select(
        u.c.contract_id,
        u.c.contract_reference,
        local_moment(u.c.at),
        u.c.kind,
        u.c.action,
        u.c.party,
        u.c.account,
        u.c.text,
        u.c.summary,
        u.c.params,
    ).order_by(*step_order(u))


def steps(m, texts: _Texts):
    """The union of the steps (audit events, payments, monthly totals) as a subquery ``steps``."""
    first, *others = _events(m, texts)
    return first.union_all(*others, _payments(m, texts), _service_totals(m, texts)).subquery("steps")


def step_order(u) -> tuple:
    """The order of the steps: contract, time, event id, then payments before monthly totals."""
    return (u.c.contract_id, u.c.at, u.c.event_id, u.c.source, u.c.tiebreak, u.c.month)


def history_rows(m) -> Iterator[list]:
    """The history kind's rows, in partitions: (contract id, reference, time, kind, action, party,
    account, text)."""
    texts = _Texts()
    kind_of_action, render_text = texts.kind, texts.render
    for part in stream(timeline_query(m, texts)):
        out = []
        append = out.append  # a few hundred thousand rows: the loop stays lean
        for cid, ref, at, kind, action, party, account, text, summary, params in part:
            if kind is None:  # an audit event
                append(
                    (
                        cid,
                        ref,
                        at,
                        kind_of_action(action),
                        action,
                        party,
                        account,
                        render_text(summary, params),
                    )
                )
            else:
                append((cid, ref, at, kind, action, party, account, text))
        yield out
