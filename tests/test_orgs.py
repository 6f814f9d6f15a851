"""Organizations: sign-up (credit code checks), review, sanctions, invitations, directory, permissions."""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.auth import services as auth_services
from marketplace.auth.models import User
from marketplace.core.documents import store
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import render
from marketplace.core.notifications import Notification
from marketplace.core.timeutil import local_date
from marketplace.orgs import members, registration, review, sanctions
from marketplace.orgs.models import Invitation, Organization, OrgDecision, OrgDocument
from marketplace.orgs.uscc import ALPHABET, check_uscc, with_check_character
from tests.factories import PASSWORD

CERTIFICATE = b"%PDF-1.4\n% registration certificate for tests\n%%EOF\n"
_serial = iter(range(1, 100_000))


def code(prefix: str = "52") -> str:
    """A fresh valid credit code with the given department and category characters."""
    return with_check_character(f"{prefix}110101MJ{next(_serial):07d}")


def wrong_check(valid: str) -> str:
    """The same code with another check character."""
    return valid[:17] + next(ch for ch in ALPHABET if ch != valid[17])


def org_input(**overrides) -> dict:
    data = dict(
        name="东城区测试养老服务中心",
        name_en="Test Elderly Care Centre",
        uscc=code("52"),
        org_type="social_service_agency",
        registration_authority="北京市东城区民政局",
        registered_district_code="110101",
        founded_on=date(2015, 5, 1),
        legal_representative="张三",
        contact_person="李四",
        phone="010-6512 3456",
        email="office@test-org.cn",
        categories=["elderly_care", "social_work"],
        service_area_codes=["110101001", "110101002"],
        staff_fulltime=12,
        staff_social_workers=5,
        annual_inspection="qualified",
        rating="4A",
        small_org_declared=True,
    )
    data.update(overrides)
    return data


def certificate():
    return store(
        FileStorage(stream=io.BytesIO(CERTIFICATE), filename="cert.pdf", content_type="application/pdf"),
        allowed={"pdf"},
    )


def register(member_email: str = "first@test-org.cn", **overrides):
    org, user = registration.register(
        org_input(**overrides),
        email=member_email,
        password=PASSWORD,
        name="王五",
        documents=[("registration_certificate", certificate())],
    )
    return org, user


def verified_org(officer, member_email: str = "first@test-org.cn", **overrides):
    org, user = register(member_email, **overrides)
    review.verify(org, officer)
    return org, user


def form_data(**overrides) -> dict:
    data = {
        "name": "东城区阳光社会工作服务中心",
        "name_en": "Sunshine Social Work Centre",
        "uscc": code("52"),
        "org_type": "social_service_agency",
        "registration_authority": "北京市东城区民政局",
        "registered_district_code": "110101",
        "founded_on": "2016-04-01",
        "legal_representative": "赵六",
        "contact_person": "钱七",
        "phone": "010-6512 0000",
        "email": "office@sunshine.cn",
        "categories": ["social_work", "elderly_care"],
        "service_area_codes": ["110101", "110101003"],
        "staff_fulltime": "20",
        "staff_social_workers": "8",
        "annual_inspection": "qualified",
        "rating": "3A",
        "small_org_declared": "y",
        "member_name": "孙八",
        "account_email": "sun@sunshine.cn",
        "password": "a-long-enough-password",
        "confirm": "a-long-enough-password",
        "registration_certificate": (io.BytesIO(CERTIFICATE), "证书.pdf"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def counts(db) -> tuple:
    return tuple(count(db, m) for m in (Organization, User, AuditEvent, OrgDocument, OrgDecision))


def sign_in(client, user) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


def sign_out(client) -> None:
    with client.session_transaction() as sess:
        sess.clear()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def today() -> date:
    return local_date(clock.now())


# --- sign-up -------------------------------------------------------------------------------------


def test_registration_creates_pending_org_and_unconfirmed_member(client, world, db, monkeypatch):
    from marketplace.auth import tokens
    from marketplace.core import mail

    sent = []
    monkeypatch.setattr(mail, "enabled", lambda: True)
    monkeypatch.setattr(mail, "send", lambda mails: sent.extend(mails) or len(mails))
    assert client.get("/orgs/register").status_code == 200
    before = counts(db)
    typed = form_data()["uscc"]
    r = client.post(
        "/orgs/register",
        data=form_data(uscc=f"  {typed.lower()} "),
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, text(r)[:3000]
    assert r.headers["Location"].endswith("/auth/check-email")
    org = db.session.scalars(select(Organization)).one()
    assert org.uscc == typed and org.status == "pending" and org.verified_at is None
    assert org.categories == ["social_work", "elderly_care"]
    assert [d.code for d in org.service_areas] == ["110101", "110101003"]
    assert org.small_org_declared and org.staff_social_workers == 8
    member = db.session.scalars(select(User).where(User.email == "sun@sunshine.cn")).one()
    assert member.role == "org_member" and member.organization_id == org.id and member.name == "孙八"
    (doc,) = org.documents
    assert doc.kind == "registration_certificate" and doc.sha256 == hashlib.sha256(CERTIFICATE).hexdigest()
    assert doc.size == len(CERTIFICATE)
    assert not org.may_bid
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"org.register", "org.add_document", "user.create"} <= actions
    assert counts(db)[0] == before[0] + 1
    # The new member is not signed in and must confirm the address first (tests/test_accounts.py).
    assert not member.is_verified and client.get("/orgs/mine").status_code == 302
    (confirmation,) = sent
    assert confirmation.to == "sun@sunshine.cn" and confirmation.link.startswith("/auth/verify/")
    assert client.post(confirmation.link).status_code == 302
    assert tokens.read(confirmation.link.rsplit("/", 1)[1], tokens.VERIFY) == member
    r = client.post("/auth/login", data={"email": "sun@sunshine.cn", "password": "a-long-enough-password"})
    assert r.status_code == 302
    page = client.get("/orgs/mine")
    assert page.status_code == 200
    assert "东城区阳光社会工作服务中心" in text(page) and "Pending review" in text(page)


@pytest.mark.parametrize(
    ("uscc", "org_type", "message"),
    [
        (lambda: wrong_check(code("52")), None, "check character"),
        (lambda: "53100000500019795B", "foundation", "check character"),
        (lambda: code("52")[:17], None, "has 18 characters; this one has 17"),
        (lambda: code("52") + "1", None, "has 18 characters; this one has 19"),
        (lambda: "5211010IMJ0000001X", None, "Character 8 is 'I'"),
        (lambda: "5211010100MJ00O001", None, "the letters I, O, Z, S and V never occur"),
        (lambda: "91350100M000100Y43", "social_service_agency", "belongs to an enterprise"),
        (lambda: code("12"), "social_service_agency", "was not issued by civil affairs"),
        (lambda: code("54"), "social_group", "category character 4"),
        (lambda: code("52"), "foundation", "mark a Social service agency"),
        (lambda: code("51"), "social_service_agency", "you chose Social service agency"),
    ],
)
def test_invalid_codes_are_refused_and_nothing_is_saved(client, world, db, uscc, org_type, message):
    data = form_data(uscc=uscc(), **({"org_type": org_type} if org_type else {}))
    before = counts(db)
    r = client.post("/orgs/register", data=data, content_type="multipart/form-data")
    assert r.status_code == 400
    assert message in text(r), text(r)[:3000]
    db.session.expire_all()
    assert counts(db) == before


def test_valid_codes_of_each_civil_affairs_type_pass(client, world, db):
    for i, (prefix, org_type) in enumerate(
        [
            ("51", "social_group"),
            ("52", "social_service_agency"),
            ("53", "foundation"),
            ("59", "other_civil_affairs"),
        ]
    ):
        sign_out(client)
        data = form_data(uscc=code(prefix), org_type=org_type, account_email=f"m{i}@test-org.cn")
        r = client.post("/orgs/register", data=data, content_type="multipart/form-data")
        assert r.status_code == 302, (prefix, text(r)[:2000])
    assert count(db, Organization) == 4


def test_duplicate_code_is_refused(client, world, db):
    org, _member = register()
    db.session.commit()
    before = counts(db)
    r = client.post(
        "/orgs/register",
        data=form_data(uscc=org.uscc.lower()),
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    assert f"An organization with the credit code {org.uscc} is already registered" in text(r)
    assert counts(db) == before
    with pytest.raises(RuleViolation) as info:
        register("second@test-org.cn", uscc=f" {org.uscc} ")
    assert info.value.field == "uscc"


def test_registration_needs_a_certificate_of_an_accepted_type(client, world, db):
    before = counts(db)
    r = client.post(
        "/orgs/register",
        data=form_data(registration_certificate=None),
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "Upload the registration certificate" in text(r)
    r = client.post(
        "/orgs/register",
        data=form_data(registration_certificate=(io.BytesIO(b"MZ..."), "setup.exe")),
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "File type .exe is not accepted" in text(r)
    r = client.post(
        "/orgs/register",
        data=form_data(registration_certificate=(io.BytesIO(b"x" * (10 * 1024 * 1024 + 1)), "big.pdf")),
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "larger than the limit" in text(r)
    assert counts(db) == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"founded_on": date(2026, 3, 11)}, "founded_on", "cannot be in the future"),
        ({"staff_fulltime": 3, "staff_social_workers": 4}, "staff_social_workers", "cannot be more"),
        ({"staff_fulltime": 100_001}, "staff_fulltime", "between 0 and 100000"),
        ({"staff_fulltime": -1}, "staff_fulltime", "between 0 and 100000"),
        ({"categories": ["elderly_care", "casino"]}, "categories", "from the list"),
        ({"categories": []}, "categories", "at least one"),
        ({"service_area_codes": ["999999"]}, "service_area_codes", "from the list"),
        ({"service_area_codes": []}, "service_area_codes", "at least one"),
        ({"registered_district_code": "110101001"}, "registered_district_code", "registered district"),
        ({"name": "Only English Ltd"}, "name", "Chinese name"),
        ({"name": "长" * 201}, "name", "too long"),
        ({"phone": "call me"}, "phone", "phone number"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"org_type": "enterprise"}, "org_type", "from the list"),
        ({"annual_inspection": "great"}, "annual_inspection", "annual inspection"),
        ({"rating": "6A"}, "rating", "rating"),
        ({"legal_representative": "  "}, "legal_representative", "is required"),
    ],
)
def test_registration_rules(world, db, overrides, field, message):
    with pytest.raises(RuleViolation) as info:
        register(**overrides)
    assert info.value.field == field and message in info.value.message
    assert count(db, Organization) == 0


def test_founding_today_is_accepted(world, db):
    org, _ = register(founded_on=today())
    assert org.founded_on == today()


def test_account_problems_point_at_the_account_fields(client, world, db):
    r = client.post(
        "/orgs/register",
        data=form_data(account_email="not-an-email", password="short", confirm="short"),
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "Enter a valid email address" in text(r)
    assert "at least 12 characters" in text(r)
    # An email that has an account already is not said so (tests/test_accounts.py): nothing is made.
    r = client.post(
        "/orgs/register",
        data=form_data(account_email="officer@test.org"),
        content_type="multipart/form-data",
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/check-email")
    assert count(db, Organization) == 0


def test_bad_form_input_gives_400_not_500(client, world, db):
    for overrides in (
        {"staff_fulltime": "many"},
        {"founded_on": "2026-13-45"},
        {"categories": ["nope"]},
        {"service_area_codes": ["x"]},
        {"confirm": "something else"},
        {"uscc": "x" * 5000},
    ):
        r = client.post("/orgs/register", data=form_data(**overrides), content_type="multipart/form-data")
        assert r.status_code == 400, overrides
    assert count(db, Organization) == 0


def test_signed_in_users_cannot_register_another_organization(client, world, db, login_as):
    login_as("auditor")
    assert client.get("/orgs/register").status_code == 403
    r = client.post("/orgs/register", data=form_data(), content_type="multipart/form-data")
    assert r.status_code == 403
    assert count(db, Organization) == 0


# --- review --------------------------------------------------------------------------------------


def test_officer_verifies_a_pending_registration(client, world, db, login_as):
    org, member = register()
    db.session.commit()
    login_as("officer")
    queue = client.get("/orgs/review")
    assert queue.status_code == 200 and org.name in text(queue)
    assert client.get(f"/orgs/{org.id}/review").status_code == 200
    r = client.post(f"/orgs/{org.id}/verify", data={})
    assert r.status_code == 400 and "Tick the box" in text(r)
    r = client.post(f"/orgs/{org.id}/verify", data={"verify-checked": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert org.status == "verified" and org.verified_at == clock.now() and org.may_bid
    assert [d.action for d in org.decisions] == ["submitted", "verified"]
    assert org.decisions[-1].decided_by_id == world["officer"].id
    note = db.session.scalars(select(Notification).where(Notification.user_id == member.id)).one()
    # Stored as a message id with its parameters; the reader sees it in their own language.
    subject = render(note.subject, note.params)
    assert note.kind == "org.verified" and "verified" in subject and org.name in subject
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "org.verify")).actor_id == (
        world["officer"].id
    )
    # Verifying twice is a rule violation shown on the page, not a 500.
    r = client.post(f"/orgs/{org.id}/verify", data={"verify-checked": "y"})
    assert r.status_code == 400 and "Only a pending registration" in text(r)


def test_reject_with_reason_then_correct_and_resubmit(client, world, db, login_as):
    org, member = register()
    db.session.commit()
    login_as("admin")
    r = client.post(f"/orgs/{org.id}/reject", data={"reject-reason": ""})
    assert r.status_code == 400
    r = client.post(f"/orgs/{org.id}/reject", data={"reject-reason": "登记证书已过期 Certificate expired"})
    assert r.status_code == 302
    db.session.expire_all()
    assert org.status == "rejected" and org.status_reason == "登记证书已过期 Certificate expired"
    assert not org.may_bid

    sign_in(client, member)
    mine = client.get("/orgs/mine")
    assert mine.status_code == 200 and "Certificate expired" in text(mine) and "rejected" in text(mine)
    edit = client.get("/orgs/mine/edit")
    assert edit.status_code == 200 and org.uscc in text(edit)
    data = form_data(uscc=org.uscc, name="东城区测试养老服务中心（更正）")
    for key in ("member_name", "account_email", "password", "confirm"):
        data.pop(key)
    data["registration_certificate"] = (io.BytesIO(CERTIFICATE + b"% renewed\n"), "new-cert.pdf")
    r = client.post("/orgs/mine/edit", data=data, content_type="multipart/form-data")
    assert r.status_code == 302, text(r)[:3000]
    db.session.expire_all()
    assert org.status == "pending" and org.status_reason is None
    assert org.name == "东城区测试养老服务中心（更正）"
    assert [d.kind for d in org.documents] == ["registration_certificate", "registration_certificate"]
    assert [d.action for d in org.decisions] == ["submitted", "rejected", "resubmitted"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "org.resubmit"))
    assert event.changes["status"] == ["rejected", "pending"] and "name" in event.changes
    # Pending again: back in the queue; a verified organization can no longer be edited by its members.
    review.verify(org, world["officer"])
    db.session.commit()
    assert client.get("/orgs/mine/edit").status_code == 403


def test_request_info_then_resubmit(client, world, db, login_as):
    org, member = register()
    db.session.commit()
    login_as("officer")
    r = client.post(f"/orgs/{org.id}/request-info", data={"info-reason": "请上传章程 Upload the articles"})
    assert r.status_code == 302
    db.session.expire_all()
    assert org.status == "info_requested"
    note = db.session.scalars(select(Notification).where(Notification.user_id == member.id)).one()
    assert note.kind == "org.info_requested" and "Upload the articles" in render(note.body, note.params)
    # Asked once; asking again needs a pending registration.
    with pytest.raises(RuleViolation):
        review.request_info(org, "again", world["officer"])
    sign_in(client, member)
    assert "Upload the articles" in text(client.get("/orgs/mine"))
    registration.update_and_resubmit(org, registration.input_from(org), member)
    registration.add_document(org, certificate(), "other", member)
    db.session.commit()
    assert org.status == "pending"
    review.verify(org, world["officer"])
    assert org.status == "verified"


def test_review_queue_lists_waiting_registrations_first(client, world, db, login_as):
    done, _ = verified_org(world["officer"], "a@test-org.cn", name="甲机构")
    waiting, _ = register("b@test-org.cn", name="乙机构")
    asked, _ = register("c@test-org.cn", name="丙机构")
    review.request_info(asked, "more", world["officer"])
    db.session.commit()
    login_as("officer")
    page = text(client.get("/orgs/review"))
    assert page.index("乙机构") < page.index("甲机构") and page.index("丙机构") < page.index("甲机构")
    only = text(client.get("/orgs/review?status=verified"))
    assert "甲机构" in only and "乙机构" not in only
    assert client.get("/orgs/review?status=bogus&page=x").status_code == 200


# --- sanctions -----------------------------------------------------------------------------------


def test_debarment_blocks_bidding_until_the_period_ends(client, world, db, login_as):
    org, member = verified_org(world["officer"])
    db.session.commit()
    login_as("officer")
    until = today() + timedelta(days=30)
    r = client.post(
        f"/orgs/{org.id}/debar",
        data={"debar-until": until.isoformat(), "debar-reason": "Breach of contract"},
    )
    assert r.status_code == 400 and "Tick the box" in text(r)
    r = client.post(
        f"/orgs/{org.id}/debar",
        data={"debar-until": today().isoformat(), "debar-reason": "x", "debar-confirm": "y"},
    )
    assert r.status_code == 400 and "must end after today" in text(r)
    r = client.post(
        f"/orgs/{org.id}/debar",
        data={"debar-until": until.isoformat(), "debar-reason": "Breach of contract", "debar-confirm": "y"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert org.status == "debarred" and org.sanction_until == until and org.is_sanctioned
    assert not org.may_bid
    assert org.decisions[-1].action == "debarred" and org.decisions[-1].until == until
    kinds = select(Notification.kind).where(Notification.user_id == member.id).order_by(Notification.id)
    assert db.session.scalars(kinds).all() == [
        "org.verified",
        "org.debarred",
    ]
    clock.advance(timedelta(days=30))  # the last day of the period: still debarred
    assert not org.may_bid
    clock.advance(timedelta(days=1))
    assert org.may_bid and not org.is_sanctioned
    # Still listed, with its badge.
    sign_out(client)
    directory = text(client.get("/orgs"))
    assert org.name in directory and "Debarred" in directory


def test_suspend_and_reinstate(client, world, db, login_as):
    org, _ = verified_org(world["officer"])
    db.session.commit()
    login_as("admin")
    until = today() + timedelta(days=10)
    r = client.post(
        f"/orgs/{org.id}/suspend",
        data={
            "suspend-until": until.isoformat(),
            "suspend-reason": "Under investigation",
            "suspend-confirm": "y",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert org.status == "suspended" and not org.may_bid
    r = client.post(f"/orgs/{org.id}/reinstate", data={"reinstate-reason": ""})
    assert r.status_code == 400
    r = client.post(f"/orgs/{org.id}/reinstate", data={"reinstate-reason": "Cleared"})
    assert r.status_code == 302
    db.session.expire_all()
    assert org.status == "verified" and org.sanction_until is None and org.may_bid
    assert [d.action for d in org.decisions][-2:] == ["suspended", "reinstated"]


def test_sanction_rules(world, db):
    officer = world["officer"]
    pending, _ = register("p@test-org.cn")
    with pytest.raises(RuleViolation, match="Only a verified organization"):
        sanctions.debar(pending, today() + timedelta(days=5), "x", officer)
    org, _ = verified_org(officer, "v@test-org.cn")
    with pytest.raises(RuleViolation) as info:
        sanctions.suspend(org, today() + timedelta(days=5), "  ", officer)
    assert info.value.field == "reason"
    with pytest.raises(RuleViolation) as info:
        sanctions.suspend(org, today() + timedelta(days=4000), "x", officer)
    assert info.value.field == "until"
    with pytest.raises(RuleViolation, match="Only a suspended or debarred"):
        sanctions.reinstate(org, "x", officer)
    sanctions.debar(org, today() + timedelta(days=100), "fraud", officer)
    with pytest.raises(RuleViolation, match="reinstate it before suspending"):
        sanctions.suspend(org, today() + timedelta(days=5), "x", officer)
    # A longer debarment replaces the current one.
    sanctions.debar(org, today() + timedelta(days=200), "more fraud", officer)
    assert org.sanction_until == today() + timedelta(days=200)
    with pytest.raises(RuleViolation, match="Only a pending"):
        review.verify(org, officer)


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["auditor", "evaluator", "org_member", "other_member", "own_member"])
def test_only_officers_and_admins_review_and_sanction(client, world, db, who):
    officer = world["officer"]
    pending, own_member = register("own@test-org.cn")
    verified, other_member = verified_org(officer, "other@test-org.cn")
    db.session.commit()
    user = {"other_member": other_member, "own_member": own_member}.get(who) or world[who]
    sign_in(client, user)
    before = counts(db)
    statuses = (pending.status, verified.status)
    later = (today() + timedelta(days=30)).isoformat()
    posts = [
        (f"/orgs/{pending.id}/verify", {"verify-checked": "y"}),
        (f"/orgs/{pending.id}/reject", {"reject-reason": "no"}),
        (f"/orgs/{pending.id}/request-info", {"info-reason": "more"}),
        (
            f"/orgs/{verified.id}/suspend",
            {"suspend-until": later, "suspend-reason": "x", "suspend-confirm": "y"},
        ),
        (f"/orgs/{verified.id}/debar", {"debar-until": later, "debar-reason": "x", "debar-confirm": "y"}),
        (f"/orgs/{verified.id}/reinstate", {"reinstate-reason": "x"}),
    ]
    for url, data in posts:
        assert client.post(url, data=data).status_code == 403, url
    assert client.get("/orgs/review").status_code == 403
    assert client.get(f"/orgs/{pending.id}/review").status_code == 403
    db.session.expire_all()
    assert (pending.status, verified.status) == statuses
    assert counts(db) == before


@pytest.mark.parametrize("who", ["auditor", "evaluator", "officer", "admin", "org_member"])
def test_members_pages_refuse_non_members(client, world, db, login_as, who):
    login_as(who)
    assert client.get("/orgs/mine").status_code == 403
    assert client.get("/orgs/mine/edit").status_code == 403
    assert client.post("/orgs/mine/edit", data={"name": "x"}).status_code == 403
    assert client.post("/orgs/mine/invitations", data={"email": "x@test.org"}).status_code == 403
    assert count(db, Invitation) == 0


def test_anonymous_is_sent_to_sign_in(client, world, db):
    org, _ = register()
    db.session.commit()
    for url in ("/orgs/mine", "/orgs/review", f"/orgs/{org.id}/review"):
        r = client.get(url)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
    r = client.post(f"/orgs/{org.id}/verify", data={"verify-checked": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert org.status == "pending"


def test_unknown_ids_are_404(client, world, db, login_as):
    login_as("officer")
    for url in ("/orgs/999999", "/orgs/999999/review", "/orgs/abc", "/orgs/999999/documents/1"):
        assert client.get(url).status_code == 404, url
    assert client.post("/orgs/999999/verify", data={"verify-checked": "y"}).status_code == 404


# --- invitations ---------------------------------------------------------------------------------


def _invitation_token(response) -> str:
    match = re.search(r"/orgs/invitations/([A-Za-z0-9_\-]+)", text(response))
    assert match, text(response)[:3000]
    return match.group(1)


def test_member_invites_a_colleague_who_joins(client, world, db):
    org, member = register()
    db.session.commit()
    sign_in(client, member)
    r = client.post("/orgs/mine/invitations", data={"email": " Colleague@Test-Org.cn "})
    assert r.status_code == 200
    token = _invitation_token(r)
    invitation = db.session.scalars(select(Invitation)).one()
    assert invitation.email == "colleague@test-org.cn"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in str(
        db.session.scalars(select(AuditEvent.changes)).all()
    )
    assert invitation.expires_at == clock.now() + timedelta(days=7)
    assert "colleague@test-org.cn" in text(client.get("/orgs/mine"))

    sign_out(client)
    page = client.get(f"/orgs/invitations/{token}")
    assert page.status_code == 200 and org.name in text(page)
    r = client.post(
        f"/orgs/invitations/{token}", data={"name": "同事", "password": "short", "confirm": "short"}
    )
    assert r.status_code == 400
    r = client.post(
        f"/orgs/invitations/{token}",
        data={"name": "同事", "password": "another-long-password", "confirm": "another-long-password"},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/orgs/mine")
    colleague = auth_services.authenticate("colleague@test-org.cn", "another-long-password")
    assert colleague is not None and colleague.organization_id == org.id and colleague.role == "org_member"
    assert client.get("/orgs/mine").status_code == 200
    # The link works once.
    sign_out(client)
    reused = client.get(f"/orgs/invitations/{token}")
    assert reused.status_code == 404 and "already used or has expired" in text(reused)
    assert (
        client.post(
            f"/orgs/invitations/{token}",
            data={"name": "x", "password": "another-long-password", "confirm": "another-long-password"},
        ).status_code
        == 404
    )
    with pytest.raises(RuleViolation):
        members.accept_invitation(token, "another-long-password", "x")


def test_expired_invitation_is_refused(client, world, db):
    org, member = register()
    token = members.invite_member(org, "late@test-org.cn", member)
    db.session.commit()
    clock.advance(timedelta(days=7, seconds=1))
    r = client.get(f"/orgs/invitations/{token}")
    assert r.status_code == 404 and "expired" in text(r)
    assert client.get("/orgs/invitations/not-a-token").status_code == 404
    assert auth_services.find_user_by_email("late@test-org.cn") is None


def test_invitation_rules(client, world, db):
    org, member = register()
    with pytest.raises(RuleViolation, match="already has an account"):
        members.invite_member(org, "OFFICER@test.org", member)
    with pytest.raises(RuleViolation, match="valid email"):
        members.invite_member(org, "nobody", member)
    db.session.commit()
    sign_in(client, member)
    r = client.post("/orgs/mine/invitations", data={"email": "expert@test.org"})
    assert r.status_code == 400 and "already has an account" in text(r)
    assert count(db, Invitation) == 0
    # A signed-in user cannot accept an invitation meant for someone else.
    token = members.invite_member(org, "new@test-org.cn", member)
    db.session.commit()
    assert client.get(f"/orgs/invitations/{token}").status_code == 403


# --- directory and profiles ----------------------------------------------------------------------


def test_directory_lists_only_organizations_whose_verification_stands(client, world, db):
    officer = world["officer"]
    care, _ = verified_org(
        officer,
        "a@test-org.cn",
        name="甲养老中心",
        categories=["elderly_care"],
        service_area_codes=["110101001"],
    )
    kids, _ = verified_org(
        officer,
        "b@test-org.cn",
        name="乙托育中心",
        name_en="Kids Care",
        categories=["childcare"],
        service_area_codes=["110101"],
    )
    pending, _ = register("c@test-org.cn", name="丙待审机构")
    rejected, _ = register("d@test-org.cn", name="丁被拒机构")
    review.reject(rejected, "no", officer)
    db.session.commit()

    page = text(client.get("/orgs"))
    assert "甲养老中心" in page and "乙托育中心" in page
    assert "丙待审机构" not in page and "丁被拒机构" not in page
    assert "2 organizations found" in page

    def names(query):
        r = client.get("/orgs" + query)
        assert r.status_code == 200
        return {n for n in ("甲养老中心", "乙托育中心") if n in text(r)}

    assert names("?q=养老") == {"甲养老中心"}
    assert names("?q=kids") == {"乙托育中心"}
    assert names("?category=childcare") == {"乙托育中心"}
    # A street: organizations serving it or its whole district.
    assert names("?area=110101001") == {"甲养老中心", "乙托育中心"}
    assert names("?area=110101002") == {"乙托育中心"}
    # The district: organizations serving it or any of its streets.
    assert names("?area=110101") == {"甲养老中心", "乙托育中心"}
    empty = client.get("/orgs?q=nothing-like-this")
    assert empty.status_code == 200 and "No organization matches" in text(empty)
    assert client.get("/orgs?category=bogus").status_code == 400
    assert client.get("/orgs?page=abc&per_page=-3").status_code == 200


def test_directory_empty_state(client, world, db):
    r = client.get("/orgs")
    assert r.status_code == 200 and "No organization has been verified yet" in text(r)


def test_profiles_of_unverified_organizations_are_private(client, world, db):
    pending, member = register("p@test-org.cn")
    verified, other_member = verified_org(world["officer"], "v@test-org.cn")
    db.session.commit()
    assert client.get(f"/orgs/{pending.id}").status_code == 404
    public = client.get(f"/orgs/{verified.id}")
    assert public.status_code == 200 and verified.uscc in text(public) and "Contracts won" in text(public)
    assert "cert.pdf" not in text(public)  # documents are private
    sign_in(client, other_member)
    assert client.get(f"/orgs/{pending.id}").status_code == 404
    sign_in(client, member)
    own = client.get(f"/orgs/{pending.id}")
    assert own.status_code == 200 and "cert.pdf" in text(own)
    for who in ("officer", "auditor", "admin"):
        sign_in(client, world[who])
        assert client.get(f"/orgs/{pending.id}").status_code == 200, who


def test_documents_download_for_private_viewers_only(client, world, db):
    org, member = verified_org(world["officer"])
    other, other_member = verified_org(world["officer"], "x@test-org.cn")
    db.session.commit()
    doc = org.documents[0]
    url = f"/orgs/{org.id}/documents/{doc.id}"
    assert client.get(url).status_code == 403
    sign_in(client, other_member)
    assert client.get(url).status_code == 403
    assert client.get(f"/orgs/{other.id}/documents/{doc.id}").status_code == 404
    for user in (member, world["auditor"], world["officer"]):
        sign_in(client, user)
        r = client.get(url)
        assert r.status_code == 200 and r.data == CERTIFICATE


def test_navigation_links_by_role(client, world, db, login_as):
    _, member = register()
    db.session.commit()
    page = text(client.get("/"))
    assert "Organizations" in page and "Register an organization" in page and "My organization" not in page
    sign_in(client, member)
    page = text(client.get("/"))
    assert "My organization" in page and "Register an organization" not in page
    assert "Review organizations" not in page
    for who in ("officer", "admin"):
        login_as(who)
        assert "Review organizations" in text(client.get("/"))
    login_as("auditor")
    assert "Review organizations" not in text(client.get("/"))


def test_policy_refuses_anonymous_every_org_action(world, db):
    from flask_login import AnonymousUserMixin

    from marketplace.core import permissions

    org, _ = register()
    anon = AnonymousUserMixin()
    assert not [a for a in permissions.actions() if a.startswith("org.") and permissions.can(anon, a, org)]


# --- demo ----------------------------------------------------------------------------------------


def test_demo_loader_creates_ten_organizations_in_their_states(world, db):
    from marketplace.demo.accounts import PASSWORD as DEMO_PASSWORD
    from marketplace.demo.orgs import load_demo_orgs

    orgs = load_demo_orgs(world["officer"])
    db.session.commit()
    assert len(orgs) == 10 == count(db, Organization)
    assert Counter(o.status for o in orgs) == {
        "verified": 7,
        "pending": 1,
        "info_requested": 1,
        "debarred": 1,
    }
    for n, org in enumerate(orgs, start=1):
        assert check_uscc(org.uscc) == org.uscc
        assert len(org.documents) == 1 and org.documents[0].kind == "registration_certificate"
        user = auth_services.authenticate(f"org{n}@example.org", DEMO_PASSWORD)
        assert user is not None and user.organization_id == org.id
    debarred = next(o for o in orgs if o.status == "debarred")
    assert not debarred.may_bid and 150 < (debarred.sanction_until - today()).days < 200
    assert sum(o.may_bid for o in orgs) == 7
    covered = {c for o in orgs for c in o.categories}
    assert {
        "elderly_care",
        "childcare",
        "disability",
        "public_health",
        "social_work",
        "employment",
        "minors_youth",
        "legal_services",
    } <= covered


def test_every_org_page_renders_in_every_state(client, world, db):
    from marketplace.demo.orgs import load_demo_orgs

    orgs = load_demo_orgs(world["officer"])
    suspended = next(o for o in orgs if o.status == "verified")
    sanctions.suspend(suspended, today() + timedelta(days=3), "check", world["officer"])
    db.session.commit()
    member_of = {
        o.id: db.session.scalars(select(User).where(User.organization_id == o.id)).one() for o in orgs
    }
    for lang in ("en", "zh_CN"):
        client.get(f"/lang/{lang}")
        for org in orgs:
            sign_in(client, world["officer"])
            assert client.get(f"/orgs/{org.id}/review").status_code == 200, (lang, org.status)
            assert client.get(f"/orgs/{org.id}").status_code == 200, (lang, org.status)
            sign_in(client, member_of[org.id])
            assert client.get("/orgs/mine").status_code == 200, (lang, org.status)
            sign_out(client)
            client.get(f"/lang/{lang}")
        sign_in(client, world["admin"])
        assert client.get("/orgs/review").status_code == 200
        assert client.get("/orgs").status_code == 200
    clock.advance(timedelta(days=365))  # every sanction period over
    sign_in(client, member_of[suspended.id])
    client.get("/lang/en")
    assert "may bid again" in text(client.get("/orgs/mine"))


def test_a_lost_race_on_the_credit_code_is_a_rule_violation(world, db, monkeypatch):
    first, _ = register("a@test-org.cn")
    db.session.commit()
    # Both requests passed the uniqueness check before either committed.
    monkeypatch.setattr(registration, "check_code_unique", lambda code, exclude_id=None: None)
    with pytest.raises(RuleViolation) as info:
        register("b@test-org.cn", uscc=first.uscc)
    assert info.value.field == "uscc"
    db.session.rollback()
    assert count(db, Organization) == 1


def test_review_forms_carry_their_own_csrf_tokens(client, world, db, login_as, csrf):
    org, _ = register()
    db.session.commit()
    login_as("officer")
    page = client.get(f"/orgs/{org.id}/review").get_data(as_text=True)
    token = re.search(r'name="verify-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(f"/orgs/{org.id}/verify", data={"verify-checked": "y"}).status_code == 400
    db.session.expire_all()
    assert org.status == "pending"
    r = client.post(f"/orgs/{org.id}/verify", data={"verify-checked": "y", "verify-csrf_token": token})
    assert r.status_code == 302
    db.session.expire_all()
    assert org.status == "verified"
