"""Walk every route with every role: nothing answers 500, and state-changing routes refuse the wrong roles."""

import pytest
from sqlalchemy import func, select

from marketplace.audit.models import AppendOnlyError, AuditEvent
from marketplace.core import permissions
from marketplace.tenders import search
from marketplace.tenders.clarifications import ask_clarification
from tests import factories

ROLES = [None, "officer", "other_officer", "org_member", "evaluator", "auditor", "admin"]


def _urls(app, ids):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "bootstrap.static") or rule.endpoint.startswith("main.set_language"):
            continue
        values = {arg: ids.get(arg, 1) for arg in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            yield rule, url_for(rule.endpoint, **values)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_with_every_role_never_500(app, client, login_as, world, db, role):
    t = factories.published(world["officer"])
    ask_clarification(t, "q?", world["org_member"])
    db.session.commit()
    ids = {"tender_id": t.id, "doc_id": 999, "question_id": t.clarifications[0].id}
    if role:
        login_as(role)
    for rule, url in _urls(app, ids):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(url, method=method, data={})
            if rule.endpoint == "main.readyz" and r.status_code == 503:  # "not ready" (no scheduler here)
                assert r.json["status"] == "unavailable"
                continue
            assert r.status_code < 500, (role, method, url, r.status_code)


@pytest.mark.parametrize("role", ["org_member", "evaluator", "auditor", "admin", "other_officer"])
def test_only_the_owning_officer_changes_a_tender(client, login_as, world, db, role):
    t = factories.published(world["officer"])
    d = factories.draft(world["officer"])
    db.session.commit()
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    login_as(role)
    posts = [
        (f"/tenders/{d.id}/publish", {"confirm_not_excluded": "y"}),
        (f"/tenders/{d.id}/edit", {"title": "hijack"}),
        (f"/tenders/{t.id}/amend", {"reason": "r", "description": "hijack"}),
        (f"/tenders/{t.id}/cancel", {"reason": "r", "confirm": "y"}),
    ]
    if role != "other_officer":  # an officer of another agency may create tenders of its own
        posts.append(("/tenders/new", {"title": "x"}))
    for url, data in posts:
        assert client.post(url, data=data).status_code == 403, url
    db.session.expire_all()
    assert d.status == "draft" and t.status == "open" and d.title != "hijack"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_policy_refuses_anonymous_everything_but_viewing_public(world, db):
    from flask_login import AnonymousUserMixin

    t = factories.published(world["officer"])
    anon = AnonymousUserMixin()
    allowed = {a for a in permissions.actions() if permissions.can(anon, a, t)}
    # Viewing what is public, and the residents' needs form (居民点单), which is for anyone.
    assert allowed == {"tender.view", "needs.report"}
    with pytest.raises(LookupError):
        permissions.can(anon, "no.such.action", t)


def test_audit_events_are_append_only(world, db):
    db.session.commit()
    ev = db.session.scalars(select(AuditEvent)).first()
    ev.summary = "rewritten"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    ev = db.session.scalars(select(AuditEvent)).first()
    db.session.delete(ev)
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()


def test_unexpected_errors_give_500_pages(client, monkeypatch, db):
    def boom(*a, **k):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(search, "open_tenders", boom)
    monkeypatch.setattr(search, "public_tenders_query", boom)
    monkeypatch.setattr(search, "public_matches", boom)
    r = client.get("/")
    assert r.status_code == 500 and b"<html" in r.data and b"simulated" not in r.data
    r = client.get("/api/v1/tenders")
    assert r.status_code == 500 and r.json["status"] == 500 and "simulated" not in r.get_data(as_text=True)
