"""Auditors are read-only everywhere: every state-changing route, posted to as an auditor with a valid
CSRF token, real object ids and plausible form data, is refused and changes nothing.

Routes are taken from ``app.url_map``, so a route added later is covered without touching this test.
The only exclusions are routes that any signed-in user may use on their own account (listed below).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import url_for

from marketplace import clock
from marketplace.contracts import variations
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.tenders.clarifications import ask_clarification
from marketplace.tenders.committee.models import CommitteeMember
from tests import factories
from tests.test_history import delivered_contract

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

# Open to any signed-in user, acting on their own session or account only.
OWN_ACCOUNT = {
    "auth.login": "signing in is open to everyone (it starts a session; it changes no procurement data)",
    "auth.logout": "signing out ends one's own session",
    "auth.change_password": "every account changes its own password",
    "main.set_language": "the display language is a preference of one's own session",
    "main.inbox": "marking one's own notifications as read",
    "auth.request_reset": "asking for a password-reset link is open to everyone (it mails a link)",
    "auth.resend_verification": "asking for a new confirmation link is open to everyone (it mails a link)",
    "auth.verify_email": "confirming one's own address through the link mailed to it",
    "auth.reset_password": "choosing one's own new password through the link mailed to it",
    "auth.api_tokens_page": "creating one's own API token (no more rights than the account: read-only)",
    "auth.revoke_api_token": "revoking one's own personal API token",
    "alerts.unsubscribe": "turning off the digest mails of one's own saved searches through the link mailed",
}


# Form data plausible for any of the forms: titles, reasons, confirmations, amounts, dates, decisions.
FORM = {
    "title": "审计员试图修改 Auditor edit",
    "description": "审计员试图修改 Auditor edit",
    "reason": "审计员 Auditor",
    "note": "审计员 Auditor",
    "summary": "审计员 Auditor",
    "report": "审计员 Auditor",
    "question": "审计员的问题？",
    "answer": "审计员的回答",
    "justification": "审计员 Auditor",
    "confirm": "y",
    "confirm_not_excluded": "y",
    "checked": "y",
    "approve": "y",
    "decision": "accept",
    "upheld": "y",
    "result": "passed",
    "passed": "y",
    "accepted": "y",
    "amount": "1000.00",
    "amount_paid": "1000.00",
    "value": "290000.00",
    "price": "100000.00",
    "reference": "AUDIT-1",
    "paid_on": "2026-10-28",
    "service_date": "2026-10-01",
    "activity_type": "home_visit",
    "quantity": "1",
    "beneficiaries": "1",
    "hours": "1",
    "period_start": "2026-10-01",
    "period_end": "2026-10-20",
    "email": "auditor-invite@test.org",
    "name": "审计员",
    "role": "expert",
}


def _scene(world):
    """A delivered contract (its tender awarded), a pending variation, a draft and an open tender with
    a clarification, and the ids each URL parameter can take."""
    contract, org, member = delivered_contract(world)
    tender = contract.tender
    variation = variations.request_variation(
        contract,
        {
            "value": "290000.00",
            "milestones": [{"id": contract.milestones[2].id, "amount": "122000.00"}],
            "reason": "工期调整 Schedule change",
        },
        member,
    )
    draft = factories.draft(world["officer"])
    opened = factories.published(world["officer"])
    ask_clarification(opened, "问题？", world["org_member"])
    db.session.flush()
    award = contract.award
    committee = db.session.scalars(sa.select(CommitteeMember).where(CommitteeMember.tender_id == tender.id))
    from marketplace.jobs.registry import JOBS

    ids = {
        "tender_id": [tender.id, draft.id, opened.id],
        "contract_id": [contract.id],
        "milestone_id": [m.id for m in contract.milestones[:2]],
        "variation_id": [variation.id],
        "bid_ref": [award.bid.public_id],
        "member_id": [committee.first().id],
        "org_id": [org.id],
        "question_id": [opened.clarifications[0].id],
        "doc_id": [1],
        "attachment_id": [1],
        "challenge_id": [1],
        "record_id": [1],
        "name": sorted(JOBS)[:1] or ["x"],
        "token": ["not-a-token"],
        "code": ["en"],
    }
    return ids


def _snapshot() -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row, per table."""
    out = {}
    with db.session.no_autoflush:
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table.name] = (len(rows), digest)
    return out


def _urls(app, ids):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        methods = sorted(rule.methods & STATE_CHANGING)
        # legacy.* only redirect (308) to the routes walked here; tests/test_legacy_urls.py covers them.
        if not methods or rule.endpoint in OWN_ACCOUNT or rule.endpoint.startswith("legacy."):
            continue
        args = sorted(rule.arguments)
        choices = [ids.get(a, [1]) for a in args]
        for combo in itertools.product(*choices):
            with app.test_request_context():
                url = url_for(rule.endpoint, **dict(zip(args, combo, strict=True)))
            for method in methods:
                yield rule.endpoint, method, url


def _token(client) -> str:
    """The session's CSRF token, from the sign-out form every signed-in page carries."""
    page = client.get("/auditor/contracts").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_every_state_changing_route_refuses_an_auditor_and_changes_nothing(
    app, client, login_as, world, csrf
):
    ids = _scene(world)
    db.session.commit()
    auditor = login_as("auditor")
    token = _token(client)
    data = dict(FORM)
    data["csrf_token"] = token
    for prefix in ("verify", "reject", "info", "suspend", "debar", "reinstate"):
        data[f"{prefix}-csrf_token"] = token
        for key in ("reason", "checked", "until", "confirm", "note"):
            data[f"{prefix}-{key}"] = FORM.get(key, "y")
    before = _snapshot()
    checked = []
    for endpoint, method, url in _urls(app, ids):
        r = client.open(url, method=method, data=data)
        location = r.headers.get("Location", "")
        # 401: an /api/v1 route, which a browser session cannot use (it needs a token)
        refused = r.status_code in (401, 403, 404, 405) or (
            r.status_code == 302 and "/auth/login" in location
        )
        assert refused, (endpoint, method, url, r.status_code, location)
        db.session.expire_all()
        after = _snapshot()
        changed = {t for t in before if before[t] != after[t]}
        assert not changed, (endpoint, url, changed)
        checked.append(endpoint)
    # Every kind of state-changing route was tried, the contract's and the tender stage's alike.
    assert {
        "contracts.payments",
        "contracts.decide_variation",
        "tenders.publish",
        "committee.confirm_award",
    } <= set(checked)
    assert {"orgs.verify", "jobs.run_now", "contracts.records", "committee.score"} <= set(checked)
    db.session.refresh(auditor)
    assert auditor.role == "auditor"


def test_the_exclusions_are_only_about_ones_own_account(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.methods & STATE_CHANGING}
    assert set(OWN_ACCOUNT) <= endpoints  # no stale exclusion hides a renamed route
    assert all(e.split(".")[0] in ("auth", "main", "alerts") for e in OWN_ACCOUNT)


def test_an_auditor_cannot_record_a_payment_even_through_the_verb(world, db):
    """The verb refuses too (the policy, not only the view): views are not the only way in."""
    from marketplace.contracts.delivery import payments as payment_verbs
    from marketplace.contracts.models import Payment
    from marketplace.core.errors import RuleViolation

    contract, _org, _member = delivered_contract(world)
    payments = db.session.scalar(sa.select(sa.func.count()).select_from(Payment))
    with pytest.raises(RuleViolation):
        payment_verbs.record_payment(
            contract, local_date(clock.now()), Decimal("1.00"), "AUD", None, world["auditor"]
        )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == payments
