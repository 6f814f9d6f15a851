"""Sessions that end (ASVS 3.3, issue 17 item 2): sign-out, a password change and an administrator end
every session and remember-me cookie of the account, in every browser."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.audit.models import AuditEvent
from marketplace.auth import services
from marketplace.auth.models import User
from tests.factories import PASSWORD

PRIVATE = "/inbox"  # 200 when signed in, 302 to the login page when not
REMEMBER = "remember_token"


def _browser(app):
    """A browser of its own (the ``client`` fixture makes the app's clients isolate their requests)."""
    return app.test_client()


def _sign_in(browser, email="officer@test.org", password=PASSWORD, remember=True):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    r = browser.post("/auth/login", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]


def _signed_in(browser) -> bool:
    return browser.get(PRIVATE).status_code == 200


def _remember_only(app, browser):
    """Another browser holding nothing but ``browser``'s remember-me cookie."""
    cookie = browser.get_cookie(REMEMBER)
    assert cookie is not None
    other = app.test_client()
    other.set_cookie(REMEMBER, cookie.value)
    return other


def test_sign_out_ends_every_session_and_remember_cookie_of_the_account(app, client, world, db):
    laptop, phone = _browser(app), _browser(app)
    _sign_in(laptop)
    _sign_in(phone)
    from_cookie = _remember_only(app, phone)
    assert _signed_in(laptop) and _signed_in(phone) and _signed_in(from_cookie)

    assert laptop.post("/auth/logout").status_code == 302

    assert not _signed_in(laptop)
    assert not _signed_in(phone)  # the other browser's session ended too
    assert not _signed_in(_remember_only(app, phone))  # and its remember-me cookie is dead
    # Signing in again works, and starts a new session.
    _sign_in(phone)
    assert _signed_in(phone) and not _signed_in(laptop)


def test_sessions_of_other_accounts_are_untouched(app, client, world, db):
    officer, other = _browser(app), _browser(app)
    _sign_in(officer)
    _sign_in(other, email="other@test.org")
    officer.post("/auth/logout")
    assert _signed_in(other)


def test_password_change_ends_every_other_session_and_keeps_this_one(app, client, world, db):
    here, elsewhere = _browser(app), _browser(app)
    _sign_in(here)
    _sign_in(elsewhere)
    stolen = _remember_only(app, elsewhere)
    assert _signed_in(stolen)

    r = here.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-new-password-1",
            "confirm": "a-new-password-1",
        },
    )
    assert r.status_code == 302

    assert _signed_in(here)  # this browser carries on, under the new session version
    assert not _signed_in(elsewhere)
    assert not _signed_in(_remember_only(app, elsewhere))
    # This browser's re-issued remember-me cookie works; the old one does not.
    assert _signed_in(_remember_only(app, here))


def test_a_refused_password_change_ends_nothing(app, client, world, db):
    here, elsewhere = _browser(app), _browser(app)
    _sign_in(here)
    _sign_in(elsewhere)
    r = here.post(
        "/auth/password",
        data={"current_password": "wrong", "new_password": "a-new-password-1", "confirm": "a-new-password-1"},
    )
    assert r.status_code == 400
    assert _signed_in(here) and _signed_in(elsewhere)


def test_an_admin_ends_a_users_sessions_from_the_user_page(app, client, world, login_as, db):
    officer = _browser(app)
    _sign_in(officer)
    cookie_only = _remember_only(app, officer)
    target = world["officer"]

    login_as("admin")
    listing = client.get("/auth/users?q=officer")
    assert listing.status_code == 200 and "officer@test.org" in listing.get_data(as_text=True)
    page = client.get(f"/auth/users/{target.id}")
    assert page.status_code == 200 and "End all sessions" in page.get_data(as_text=True)
    r = client.post(f"/auth/users/{target.id}/end-sessions")
    assert r.status_code == 302

    assert not _signed_in(officer) and not _signed_in(cookie_only)
    assert client.get("/auth/users").status_code == 200  # the admin's own session is untouched
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.end_sessions")).one()
    assert event.actor_id == world["admin"].id and event.object_id == str(target.id)


def test_only_admins_see_user_pages_and_end_sessions(app, client, world, login_as, db):
    target = world["auditor"]
    auditor = _browser(app)
    _sign_in(auditor, email="auditor@test.org")
    for role in ("officer", "org_member", "evaluator", "auditor"):
        login_as(role)
        assert client.get("/auth/users").status_code == 403
        assert client.get(f"/auth/users/{target.id}").status_code == 403
        assert client.post(f"/auth/users/{target.id}/end-sessions").status_code == 403
    assert _signed_in(auditor)
    db.session.expire_all()
    assert db.session.get(User, target.id).session_version == 0
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.end_sessions")).all()


def test_an_admin_ending_their_own_sessions_keeps_the_current_one(app, client, world, login_as, db):
    login_as("admin")
    assert client.post(f"/auth/users/{world['admin'].id}/end-sessions").status_code == 302
    assert client.get("/auth/users").status_code == 200


def test_deactivation_ends_the_sessions(app, client, world, db):
    officer = _browser(app)
    _sign_in(officer)
    services.set_active(world["officer"], False, actor=world["admin"])
    services.set_active(world["officer"], True, actor=world["admin"])
    db.session.commit()
    assert not _signed_in(officer)


def test_a_session_id_with_a_stale_or_forged_version_is_refused(app, client, world, db):
    officer = world["officer"]
    services.record_logout(officer)  # version 1
    db.session.commit()
    for forged in (str(officer.id), f"{officer.id}:0", f"{officer.id}:2", f"{officer.id}:x", "x:1", ""):
        with client.session_transaction() as sess:
            sess["_user_id"] = forged
            sess["_fresh"] = True
        assert not _signed_in(client), forged
    with client.session_transaction() as sess:
        sess["_user_id"] = officer.get_id()
    assert officer.get_id() == f"{officer.id}:1" and _signed_in(client)


def test_an_admin_confirms_an_email_by_hand(app, client, world, login_as, db):
    pending = services.create_user(
        email="pending@test.org", role="auditor", password=PASSWORD, verified=False
    )
    db.session.commit()
    assert (
        client.post("/auth/login", data={"email": "pending@test.org", "password": PASSWORD}).status_code
        == 400
    )
    login_as("auditor")
    assert client.post(f"/auth/users/{pending.id}/confirm-email").status_code == 403
    login_as("admin")
    assert "Confirm the email address" in client.get(f"/auth/users/{pending.id}").get_data(as_text=True)
    assert client.post(f"/auth/users/{pending.id}/confirm-email").status_code == 302
    assert (
        client.post(f"/auth/users/{pending.id}/confirm-email").status_code == 302
    )  # again: refused, flashed
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.confirm_email")).all()
    assert [e.actor_id for e in events] == [world["admin"].id]
    client.post("/auth/logout")
    assert (
        client.post("/auth/login", data={"email": "pending@test.org", "password": PASSWORD}).status_code
        == 302
    )
