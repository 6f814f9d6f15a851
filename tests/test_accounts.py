"""Accounts (ASVS 2.x, issue 17 item 4): sign-in that does not tell whether an account exists,
registration confirmed by email, common passwords refused, per-account backoff, password reset."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.auth import passwords, services, throttle, tokens
from marketplace.auth.models import LoginThrottle, User
from marketplace.core import mail
from marketplace.core.errors import RuleViolation
from marketplace.orgs.models import Organization
from tests.factories import PASSWORD
from tests.test_orgs import code, form_data, register

NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture
def outbox(monkeypatch):
    """The mails sent after each commit (as if an SMTP server were configured)."""
    sent = []
    monkeypatch.setattr(mail, "enabled", lambda: True)
    monkeypatch.setattr(mail, "send", lambda mails: sent.extend(mails) or len(mails))
    return sent


@pytest.fixture
def hash_checks(monkeypatch):
    """Every comparison of a password with a hash, as (hash, password)."""
    calls = []
    original = passwords.check_password_hash

    def spy(pwhash, password):
        calls.append((pwhash, password))
        return original(pwhash, password)

    monkeypatch.setattr(passwords, "check_password_hash", spy)
    return calls


@pytest.fixture
def many_logins(app, monkeypatch):
    """The per-address limit out of the way, to see the per-account one."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000 per minute")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def login(client, email, password):
    return client.post("/auth/login", data={"email": email, "password": password})


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- sign-in takes the same path for every email -------------------------------------------------------


def test_the_password_is_checked_exactly_once_whether_the_account_exists_or_not(
    client, world, db, hash_checks
):
    pending = services.create_user(
        email="pending@test.org", role="auditor", password=PASSWORD, verified=False
    )
    services.set_active(world["auditor"], False, actor=world["admin"])
    db.session.commit()
    cases = [
        ("officer@test.org", "wrong-password"),  # known, wrong password
        ("nobody@test.org", "wrong-password"),  # unknown
        ("nobody@test.org", PASSWORD),
        ("auditor@test.org", PASSWORD),  # deactivated, right password
        ("pending@test.org", PASSWORD),  # unconfirmed, right password
    ]
    for email, password in cases:
        hash_checks.clear()
        r = login(client, email, password)
        assert r.status_code in (200, 400) and "Signed in" not in text(r), email
        assert len(hash_checks) == 1, email
        assert hash_checks[0][1] == password
    # The unknown account is checked against a dummy hash made with the configured method.
    hash_checks.clear()
    login(client, "nobody@test.org", "x")
    assert hash_checks[0][0] == passwords.dummy_hash()
    assert hash_checks[0][0].startswith(world["officer"].password_hash.split("$")[0])
    assert pending.password_hash != passwords.dummy_hash()
    # Known and unknown emails get the same message.
    known, unknown = login(client, "officer@test.org", "wrong-1"), login(client, "nobody@test.org", "wrong-1")
    assert known.status_code == unknown.status_code
    assert text(known).replace("officer@test.org", "@") == text(unknown).replace("nobody@test.org", "@")


# --- registration --------------------------------------------------------------------------------------


def _register(client, **overrides):
    return client.post("/orgs/register", data=form_data(**overrides), content_type="multipart/form-data")


def test_registration_answers_alike_whether_the_email_has_an_account(client, world, db, outbox):
    new = _register(client, account_email="new@test-org.cn")
    taken = _register(client, account_email="officer@test.org", uscc=code("52"))
    assert (new.status_code, new.headers["Location"]) == (taken.status_code, taken.headers["Location"])
    assert new.data == taken.data
    assert client.get(new.headers["Location"]).data == client.get(taken.headers["Location"]).data
    # Only the new address got an account (unconfirmed) and an organization.
    assert count(db, Organization) == 1
    assert db.session.scalar(select(User).where(User.email == "new@test-org.cn")).email_verified_at is None
    # Each address got its own mail: a confirmation link, and a warning to the account's owner.
    by_address = {m.to: m for m in outbox}
    assert set(by_address) == {"new@test-org.cn", "officer@test.org"}
    assert by_address["new@test-org.cn"].link.startswith("/auth/verify/")
    assert "Someone tried to register" in by_address["officer@test.org"].subject
    assert by_address["officer@test.org"].link == "/auth/reset"


def test_a_registered_credit_code_is_still_said_so(client, world, db):
    org, _member = register()
    db.session.commit()
    r = _register(client, uscc=org.uscc, account_email="someone@else.cn")
    assert r.status_code == 400 and "is already registered" in text(r)


def test_an_unconfirmed_account_cannot_sign_in_until_its_link_is_followed(client, world, db, outbox):
    _register(client, account_email="new@test-org.cn")
    (confirmation,) = outbox
    r = login(client, "new@test-org.cn", "a-long-enough-password")
    assert r.status_code == 400 and "Confirm your email address first" in text(r)
    assert "Send the confirmation link again" in text(r)
    # A new link on demand (the answer is the same for any address).
    r = client.post("/auth/verify", data={"email": "new@test-org.cn"})
    other = client.post("/auth/verify", data={"email": "nobody@test-org.cn"})
    assert r.status_code == other.status_code == 302 and r.headers["Location"] == other.headers["Location"]
    assert [m.to for m in outbox] == ["new@test-org.cn", "new@test-org.cn"]
    # Following the link shows a confirmation button (GET never writes); pressing it confirms.
    page = client.get(confirmation.link)
    assert page.status_code == 200 and "new@test-org.cn" in text(page)
    assert db.session.scalar(select(User).where(User.email == "new@test-org.cn")).email_verified_at is None
    assert client.post(confirmation.link).status_code == 302
    assert "user.verify_email" in actions(db)
    assert login(client, "new@test-org.cn", "a-long-enough-password").status_code == 302


def test_a_confirmation_link_expires_and_cannot_be_forged(app, client, world, db, outbox):
    _register(client, account_email="new@test-org.cn")
    (confirmation,) = outbox
    token = confirmation.link.rsplit("/", 1)[1]
    assert client.post(f"/auth/verify/{token[:-2]}xy").status_code == 400
    assert client.get("/auth/verify/not-a-token").status_code == 400
    clock.advance(timedelta(hours=app.config["EMAIL_VERIFICATION_HOURS"], seconds=1))
    r = client.post(confirmation.link)
    assert r.status_code == 400 and "This link does not work" in text(r)
    user = db.session.scalar(select(User).where(User.email == "new@test-org.cn"))
    db.session.refresh(user)
    assert user.email_verified_at is None


def test_accounts_made_by_admins_factories_and_invitations_are_confirmed(world):
    assert all(world[k].is_verified for k in ("officer", "org_member", "evaluator", "auditor", "admin"))


# --- passwords -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["password1234", "qwertyuiop123", "123456789012"])
def test_common_passwords_are_refused_everywhere(client, world, login_as, db, outbox, weak):
    assert passwords.is_common(weak)
    with pytest.raises(RuleViolation, match="too common"):
        services.create_user(email="x@test.org", role="auditor", password=weak)
    r = _register(client, account_email="new@test-org.cn", password=weak, confirm=weak)
    assert r.status_code == 400 and "too common" in text(r)
    assert count(db, Organization) == 0
    login_as("officer")
    r = client.post(
        "/auth/password", data={"current_password": PASSWORD, "new_password": weak, "confirm": weak}
    )
    assert r.status_code == 400 and "too common" in text(r)
    link = tokens.make(world["auditor"], tokens.RESET)
    r = client.post(f"/auth/reset/{link}", data={"new_password": weak, "confirm": weak})
    assert r.status_code == 400 and "too common" in text(r)
    db.session.expire_all()
    assert db.session.get(User, world["auditor"].id).check_password(PASSWORD)


def test_the_length_floor_is_configurable(app, world, db, monkeypatch):
    assert app.config["PASSWORD_MIN_LENGTH"] == 12
    with pytest.raises(RuleViolation, match="at least 12 characters"):
        services.create_user(email="x@test.org", role="auditor", password="eleven-char")
    monkeypatch.setitem(app.config, "PASSWORD_MIN_LENGTH", 16)
    with pytest.raises(RuleViolation, match="at least 16 characters"):
        services.create_user(email="x@test.org", role="auditor", password="fifteen-chars-x")
    assert services.create_user(email="x@test.org", role="auditor", password="sixteen-chars-xy")


# --- per-account backoff -------------------------------------------------------------------------------


def test_failed_logins_lock_the_account_with_a_growing_backoff(app, client, world, db, many_logins):
    n = app.config["LOGIN_FAILURES_BEFORE_BACKOFF"]
    for _ in range(n - 1):
        assert login(client, "officer@test.org", "wrong").status_code == 200
    assert throttle.seconds_locked("officer@test.org") == 0
    assert login(client, "officer@test.org", "wrong").status_code == 200  # the n-th failure: 2 s
    waits = []
    for _ in range(4):
        refused = login(client, "officer@test.org", PASSWORD)  # even the right password waits
        assert refused.status_code == 429 and "Try again in" in text(refused)
        waits.append(throttle.seconds_locked("officer@test.org"))
        clock.advance(timedelta(seconds=waits[-1]))
        assert login(client, "officer@test.org", "wrong").status_code == 200
    assert waits == [2, 4, 8, 16]
    # The lock holds from any address (the database keeps it), and says nothing else.
    from_elsewhere = client.post(
        "/auth/login",
        data={"email": "OFFICER@test.org ", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert from_elsewhere.status_code == 429
    # The cap.
    assert throttle.backoff_seconds(n + 30) == app.config["LOGIN_BACKOFF_MAX_SECONDS"]
    # Once the lock has passed, the right password signs in and clears the count.
    clock.advance(timedelta(seconds=throttle.seconds_locked("officer@test.org")))
    assert login(client, "officer@test.org", PASSWORD).status_code == 302
    assert count(db, LoginThrottle) == 0
    client.post("/auth/logout")
    assert login(client, "officer@test.org", "wrong").status_code == 200
    assert throttle.seconds_locked("officer@test.org") == 0


def test_unknown_emails_are_throttled_alike(app, client, world, db, many_logins):
    n = app.config["LOGIN_FAILURES_BEFORE_BACKOFF"]
    known = [login(client, "officer@test.org", "wrong").status_code for _ in range(n + 1)]
    unknown = [login(client, "nobody@test.org", "wrong").status_code for _ in range(n + 1)]
    assert known == unknown == [200] * n + [429]


def test_the_failure_count_outlives_the_request(app, client, world, db, many_logins):
    """The failed sign-in is the request's committed work, not rolled back with it."""
    login(client, "officer@test.org", "wrong")
    db.session.expire_all()
    assert db.session.scalars(select(LoginThrottle.failures)).one() == 1
    assert actions(db).count("user.login") == 0


# --- password reset ------------------------------------------------------------------------------------


def test_password_reset_by_email(app, client, world, db, outbox):
    elsewhere = app.test_client()
    assert (
        elsewhere.post("/auth/login", data={"email": "officer@test.org", "password": PASSWORD}).status_code
        == 302
    )
    known = client.post("/auth/reset", data={"email": "officer@test.org"})
    unknown = client.post("/auth/reset", data={"email": "nobody@test.org"})
    assert (known.status_code, known.headers["Location"], known.data) == (
        unknown.status_code,
        unknown.headers["Location"],
        unknown.data,
    )
    (reset,) = outbox
    assert reset.to == "officer@test.org" and reset.link.startswith("/auth/reset/")
    assert client.get(reset.link).status_code == 200
    r = client.post(reset.link, data={"new_password": "short", "confirm": "short"})
    assert r.status_code == 400
    r = client.post(reset.link, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/login")
    assert elsewhere.get("/tenders/manage").status_code == 302  # every session ended
    assert login(client, "officer@test.org", PASSWORD).status_code == 200
    assert login(client, "officer@test.org", NEW_PASSWORD).status_code == 302
    assert {"user.request_password_reset", "user.reset_password"} <= set(actions(db))
    # The link works once.
    client.post("/auth/logout")
    again = client.post(
        reset.link, data={"new_password": "yet-another-passphrase", "confirm": "yet-another-passphrase"}
    )
    assert again.status_code == 400 and "This link does not work" in text(again)
    assert client.get(reset.link).status_code == 400


def test_a_reset_link_expires(app, client, world, db, outbox):
    client.post("/auth/reset", data={"email": "officer@test.org"})
    (reset,) = outbox
    clock.advance(timedelta(minutes=app.config["PASSWORD_RESET_MINUTES"], seconds=1))
    r = client.post(reset.link, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, world["officer"].id).check_password(PASSWORD)


def test_a_reset_link_dies_with_a_sign_out(client, world, db):
    link = tokens.make(world["officer"], tokens.RESET)
    assert tokens.read(link, tokens.RESET) == world["officer"]
    services.record_logout(world["officer"])
    assert tokens.read(link, tokens.RESET) is None
    assert tokens.read(link, tokens.VERIFY) is None  # a token of one purpose is no good for another
