import pytest
from sqlalchemy import select

from marketplace.audit.models import AuditEvent
from marketplace.auth import services
from marketplace.auth.models import User
from marketplace.core.errors import RuleViolation
from tests.factories import PASSWORD


def test_passwords_are_hashed(world):
    user = world["officer"]
    assert PASSWORD not in user.password_hash
    assert user.check_password(PASSWORD) and not user.check_password("wrong")


def test_login_logout(client, world, db):
    r = client.post("/auth/login", data={"email": "Officer@Test.org ", "password": PASSWORD})
    assert r.status_code == 302
    assert client.get("/tenders/manage").status_code == 200
    client.post("/auth/logout")
    assert client.get("/tenders/manage").status_code == 302  # back to the login page
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == world["officer"].id))
    assert {"user.login", "user.logout"} <= set(actions)


def test_wrong_password_is_refused(client, world):
    r = client.post("/auth/login", data={"email": "officer@test.org", "password": "nope"})
    assert r.status_code == 200  # the failure count is committed (tests/test_accounts.py)
    assert b"Wrong email or password" in r.data
    assert client.get("/tenders/manage").status_code == 302


def test_inactive_account_cannot_log_in(client, world, db):
    services.set_active(world["officer"], False, actor=world["admin"])
    db.session.commit()
    r = client.post("/auth/login", data={"email": "officer@test.org", "password": PASSWORD})
    assert r.status_code == 400
    assert client.get("/tenders/manage").status_code == 302


def test_deactivated_session_is_dropped(client, world, login_as, db):
    login_as("officer")
    assert client.get("/tenders/manage").status_code == 200
    services.set_active(world["officer"], False, actor=world["admin"])
    db.session.commit()
    assert client.get("/tenders/manage").status_code == 302


def test_login_redirect_stays_on_site(client, world):
    r = client.post(
        "/auth/login?next=https://evil.example/", data={"email": "officer@test.org", "password": PASSWORD}
    )
    assert r.headers["Location"] == "/"
    client.post("/auth/logout")
    r = client.post(
        "/auth/login?next=/tenders/manage", data={"email": "officer@test.org", "password": PASSWORD}
    )
    assert r.headers["Location"] == "/tenders/manage"


def test_change_password(client, world, login_as, db):
    login_as("org_member")
    r = client.post(
        "/auth/password",
        data={"current_password": "wrong", "new_password": "a-new-password-1", "confirm": "a-new-password-1"},
    )
    assert r.status_code == 400 and b"not correct" in r.data
    r = client.post(
        "/auth/password", data={"current_password": PASSWORD, "new_password": "short", "confirm": "short"}
    )
    assert r.status_code == 400
    r = client.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-new-password-1",
            "confirm": "a-new-password-1",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world["org_member"].id).check_password("a-new-password-1")


def test_create_user_rules(world, db):
    with pytest.raises(RuleViolation):
        services.create_user(email="x@test.org", role="officer", password=PASSWORD)  # no agency
    with pytest.raises(RuleViolation):
        services.create_user(email="OFFICER@test.org", role="auditor", password=PASSWORD)  # duplicate
    with pytest.raises(RuleViolation):
        services.create_user(email="y@test.org", role="superuser", password=PASSWORD)
    with pytest.raises(RuleViolation):
        services.create_user(email="z@test.org", role="auditor", password="short")
    with pytest.raises(RuleViolation):
        services.create_user(email="z@test.org", role="auditor", password=PASSWORD, agency=world["agency"])


def test_login_is_rate_limited(client, world):
    # Per address, whatever the account (each account has its own limit too: tests/test_accounts.py).
    codes = [
        client.post("/auth/login", data={"email": f"user{n}@test.org", "password": "x"}).status_code
        for n in range(12)
    ]
    assert codes[:10] == [200] * 10
    assert codes[-1] == 429
