"""Invited tender (邀请招标, O87 art 14): invitations drawn from the qualified pool or recommended in
writing, at least three before publication, bids from invited organizations only, invitees notified
at publication and not disclosed to the public or other organizations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.core import draws
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import Notification
from marketplace.core.permissions import can
from marketplace.extensions import db as _db
from marketplace.orgs.models import PENDING, SUSPENDED
from marketplace.tenders import invitations
from marketplace.tenders.bids import submission
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.models import DRAWN, OPEN, RECOMMENDED, InvitationDraw, TenderInvitation
from marketplace.tenders.publication import publication_problems, publish
from tests import bid_factories as bf
from tests import factories


def _invited_draft(officer, **overrides):
    return factories.draft(officer, method="invited_tender", **overrides)


def _recommend(tender, org, officer, who="采购人代表 王老师"):
    return invitations.recommend(
        tender,
        {"organization_id": org.id, "recommended_by": who, "reason": "近三年承接同类项目，评价良好。"},
        officer,
    )


@pytest.fixture
def orgs(world):
    """Four organizations that may bid on an elderly-care tender in 东华门街道."""
    return [bf.organization(f"合格社会组织{i}") for i in range(4)]


@pytest.fixture
def invited_scene(world, orgs, db):
    """An invited tender published with the first three organizations invited; the fourth is not."""
    officer = world["officer"]
    tender = _invited_draft(officer)
    for org, _member in orgs[:3]:
        _recommend(tender, org, officer)
    publish(tender, officer, confirm_not_excluded=True)
    db.session.flush()
    return tender, orgs


# --- publication -----------------------------------------------------------------------------------


def test_publishing_needs_three_invitations(world, orgs, db):
    officer = world["officer"]
    tender = _invited_draft(officer)
    _recommend(tender, orgs[0][0], officer)
    _recommend(tender, orgs[1][0], officer)
    assert any("at least 3 invited organizations" in p for p in publication_problems(tender))
    with pytest.raises(RuleViolation, match="at least 3 invited organizations"):
        publish(tender, officer, confirm_not_excluded=True)
    assert tender.status == "draft"

    _recommend(tender, orgs[2][0], officer)
    assert publication_problems(tender) == []
    publish(tender, officer, confirm_not_excluded=True)
    assert tender.status == OPEN


def test_an_open_tender_needs_no_invitation(world, db):
    tender = factories.published(world["officer"])
    assert tender.status == OPEN and not tender.by_invitation


def test_the_profile_sets_the_minimum(app, world, orgs, db, monkeypatch):
    monkeypatch.setitem(app.config, "PROCEDURE_OVERRIDES", {"invited_tender": {"min_invitations": 5}})
    officer = world["officer"]
    tender = _invited_draft(officer)
    for org, _member in orgs:
        _recommend(tender, org, officer)
    with pytest.raises(RuleViolation, match="at least 5 invited organizations"):
        publish(tender, officer, confirm_not_excluded=True)


def test_an_invitee_that_no_longer_qualifies_blocks_publication(world, orgs, db):
    officer = world["officer"]
    tender = _invited_draft(officer)
    for org, _member in orgs[:3]:
        _recommend(tender, org, officer)
    orgs[0][0].status = SUSPENDED
    orgs[0][0].sanction_until = (clock.now() + timedelta(days=90)).date()
    assert any("no longer qualify" in p for p in publication_problems(tender))
    with pytest.raises(RuleViolation):
        publish(tender, officer, confirm_not_excluded=True)


def test_invitations_are_fixed_once_published(invited_scene, world):
    tender, orgs = invited_scene
    with pytest.raises(RuleViolation, match="prepared on the draft"):
        _recommend(tender, orgs[3][0], world["officer"])
    with pytest.raises(RuleViolation, match="prepared on the draft"):
        invitations.draw_invitations(tender, {"count": 1}, world["officer"])
    with pytest.raises(RuleViolation, match="prepared on the draft"):
        invitations.remove_invitation(tender.invitations[0], world["officer"])
    assert not can(world["officer"], "tender.invite", tender)


# --- the draw --------------------------------------------------------------------------------------


def test_draw_skips_ineligible_organizations_and_repeats_from_its_seed(world, orgs, db):
    officer = world["officer"]
    eligible = sorted(org.id for org, _member in orgs)
    ineligible = [
        bf.organization("待审核组织", status=PENDING)[0],
        bf.organization("类别不符组织", categories=("childcare",))[0],
        bf.organization("服务区域不符组织", areas=("110101002",))[0],
    ]
    sanctioned, _member = bf.organization("暂停组织")
    sanctioned.status, sanctioned.sanction_until = SUSPENDED, (clock.now() + timedelta(days=30)).date()
    ineligible.append(sanctioned)
    tender = _invited_draft(officer)

    record = invitations.draw_invitations(tender, {"count": 3}, officer)

    assert record.pool == eligible
    assert not set(record.pool) & {o.id for o in ineligible}
    assert len(record.picked) == 3 and set(record.picked) <= set(eligible)
    assert draws.repeat(record.record) == record.picked
    assert draws.draw(eligible, 3, record.seed).picked == record.picked
    assert record.drawn_by_id == officer.id and record.drawn_at == clock.now()
    invited = {i.organization_id: i for i in tender.invitations}
    assert set(invited) == set(record.picked)
    assert all(i.source == DRAWN and i.draw_id == record.id for i in invited.values())
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "tender.invitation_draw")).one()
    assert event.tender_id == tender.id and event.changes["seed"] == record.seed
    assert event.changes["pool"] == eligible and event.params == {"n": 3, "pool": 4}

    # A second draw is applied to the organizations not yet invited: here the one left.
    second = invitations.draw_invitations(tender, {"count": 1}, officer)
    assert second.pool == sorted(set(eligible) - set(record.picked)) == second.picked
    with pytest.raises(RuleViolation, match="Only 0 qualified organizations"):
        invitations.draw_invitations(tender, {"count": 1}, officer)
    assert [d for d, repeats in invitations.draws_repeat(tender) if repeats] == [record, second]


def test_a_draw_larger_than_the_pool_is_refused(world, orgs, db):
    tender = _invited_draft(world["officer"])
    with pytest.raises(RuleViolation, match="Only 4 qualified organizations"):
        invitations.draw_invitations(tender, {"count": 5}, world["officer"])
    assert db.session.scalar(select(func.count()).select_from(InvitationDraw)) == 0


@pytest.mark.parametrize("count", [0, 21, "three", None])
def test_a_bad_draw_count_is_refused_by_the_schema(world, orgs, count):
    with pytest.raises(RuleViolation, match="Draw between 1 and 20"):
        invitations.draw_invitations(_invited_draft(world["officer"]), {"count": count}, world["officer"])


def test_the_small_organization_reservation_narrows_the_pool(world, db):
    small, _m1 = bf.organization("小微组织", small=True)
    bf.organization("非小微组织", small=False)
    tender = _invited_draft(world["officer"], reserved_for_small=True)
    assert [o.id for o in invitations.qualified_pool(tender)] == [small.id]


# --- written recommendations -----------------------------------------------------------------------


def test_a_recommendation_is_recorded_with_its_reason(world, orgs, db):
    officer = world["officer"]
    tender = _invited_draft(officer)
    invitation = _recommend(tender, orgs[0][0], officer, who="专家 李四")
    assert invitation.source == RECOMMENDED and invitation.recommended_by == "专家 李四"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "tender.invitation_recommend")
    ).one()
    assert event.params == {"recommender": "专家 李四"}
    assert event.changes["organization_id"] == orgs[0][0].id and event.changes["reason"]
    with pytest.raises(RuleViolation, match="already invited"):
        _recommend(tender, orgs[0][0], officer)


def test_a_recommendation_needs_a_recommender_and_a_reason(world, orgs):
    tender = _invited_draft(world["officer"])
    with pytest.raises(RuleViolation) as caught:
        invitations.recommend(
            tender, {"organization_id": orgs[0][0].id, "recommended_by": " ", "reason": ""}, world["officer"]
        )
    assert set(caught.value.errors) == {"recommended_by", "reason"}
    assert tender.invitations == []


def test_an_unqualified_organization_cannot_be_recommended(world, db):
    pending, _member = bf.organization("待审核组织", status=PENDING)
    tender = _invited_draft(world["officer"])
    with pytest.raises(RuleViolation, match="cannot be invited"):
        _recommend(tender, pending, world["officer"])
    with pytest.raises(RuleViolation, match="Choose an organization"):
        invitations.recommend(
            tender, {"organization_id": 999999, "recommended_by": "王", "reason": "x"}, world["officer"]
        )


def test_only_an_invited_tender_takes_invitations(world, orgs):
    tender = factories.draft(world["officer"])
    assert not can(world["officer"], "tender.invite", tender)
    with pytest.raises(RuleViolation, match="Only an invited tender"):
        _recommend(tender, orgs[0][0], world["officer"])


def test_an_invitation_can_be_removed_from_the_draft(world, orgs, db):
    officer = world["officer"]
    tender = _invited_draft(officer)
    invitation = _recommend(tender, orgs[0][0], officer)
    invitations.remove_invitation(invitation, officer)
    assert tender.invitations == []
    assert db.session.scalar(select(func.count()).select_from(TenderInvitation)) == 0
    removal = select(AuditEvent).where(AuditEvent.action == "tender.invitation_remove")
    assert db.session.scalars(removal).one().changes == {
        "organization_id": orgs[0][0].id,
        "source": RECOMMENDED,
    }


# --- bidding ---------------------------------------------------------------------------------------


def test_an_invited_organization_bids(invited_scene):
    tender, orgs = invited_scene
    org, member = orgs[0]
    bid, receipt = bf.submitted_bid(tender, org, member)
    assert bid.status == "submitted" and receipt.version == 1


def test_a_non_invited_organization_cannot_save_a_bid(invited_scene, db):
    tender, orgs = invited_scene
    outsider, member = orgs[3]
    with pytest.raises(RuleViolation, match="was not invited"):
        submission.save_draft(tender, outsider, bf.bid_input(tender), member)
    assert db.session.scalar(select(func.count()).select_from(Bid)) == 0


def test_a_non_invited_organization_cannot_submit_a_bid(invited_scene, db):
    """A bid that did not come through a save (nothing checked it) gets the full check at submission."""
    tender, orgs = invited_scene
    outsider, member = orgs[3]
    data = bf.bid_input(tender)
    bid = Bid(
        tender_id=tender.id,
        organization_id=outsider.id,
        status="draft",
        created_by_id=member.id,
        price=data["price"],
        responses={str(k): v for k, v in data["responses"].items()},
        declarations=data["declarations"],
    )
    db.session.add(bid)
    db.session.flush()
    with pytest.raises(RuleViolation, match="was not invited"):
        submission.submit(bid, member)
    assert bid.status == "draft" and bid.version == 0


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


def _bid_form(tender):
    data = {"price": "300000.00", "submit_bid": "1"}
    for c in tender.technical_criteria:
        data[f"response_{c.id}"] = "响应"
    for key in ("no_major_violations", "independent_bid", "accept_terms", "no_onward_subcontracting"):
        data[f"decl_{key}"] = "y"
    return data


def test_the_bid_page_tells_a_non_invited_organization_why(client, invited_scene, db):
    tender, orgs = invited_scene
    db.session.commit()
    _login(client, orgs[3][1])
    page = client.get(f"/bids/tender/{tender.id}")
    assert page.status_code == 200
    assert b"your organization was not invited" in page.data
    assert b'name="price"' not in page.data
    refused = client.post(f"/bids/tender/{tender.id}", data=_bid_form(tender))
    assert refused.status_code == 400 and b"your organization was not invited" in refused.data
    assert db.session.scalar(select(func.count()).select_from(Bid)) == 0

    _login(client, orgs[0][1])
    page = client.get(f"/bids/tender/{tender.id}")
    assert b'name="price"' in page.data and b"was not invited" not in page.data
    assert client.post(f"/bids/tender/{tender.id}", data=_bid_form(tender)).status_code == 302


# --- notification and confidentiality --------------------------------------------------------------


def test_invitees_are_notified_at_publication(world, orgs, db):
    officer = world["officer"]
    tender = _invited_draft(officer)
    for org, _member in orgs[:3]:
        _recommend(tender, org, officer)
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    publish(tender, officer, confirm_not_excluded=True)
    db.session.flush()
    told = db.session.scalars(select(Notification).where(Notification.kind == "tender.invited")).all()
    assert sorted(n.user_id for n in told) == sorted(member.id for _org, member in orgs[:3])
    assert told[0].subject == "Invitation to bid — %(title)s"
    assert told[0].params == {"title": tender.title, "reference": tender.reference}
    assert told[0].link == f"/bids/tender/{tender.id}"
    assert all(i.notified_at == clock.now() for i in tender.invitations)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "tender.invitations_sent")).one()


def test_invitee_names_stay_with_the_buyer_before_the_opening(client, world, invited_scene, db):
    tender, orgs = invited_scene
    db.session.commit()
    names = [org.name.encode() for org, _member in orgs[:3]]

    public = client.get(f"/tenders/{tender.id}")
    assert public.status_code == 200 and b"By invitation only" in public.data
    assert not any(n in public.data for n in names)
    api = client.get(f"/api/v1/tenders/{tender.id}")
    assert api.status_code == 200 and not any(n in api.data for n in names)
    assert client.get(f"/tenders/{tender.id}/invitations").status_code == 302  # to the sign-in page

    assert b"you-are-invited" not in public.data
    _login(client, orgs[3][1])  # another organization
    page = client.get(f"/tenders/{tender.id}").data
    assert not any(n in page for n in names) and b"you-are-invited" not in page
    assert client.get(f"/tenders/{tender.id}/invitations").status_code == 403
    _login(client, orgs[0][1])  # even an invitee does not see the others, only that it is invited
    assert client.get(f"/tenders/{tender.id}/invitations").status_code == 403
    page = client.get(f"/tenders/{tender.id}").data
    assert b"you-are-invited" in page and names[1] not in page and names[2] not in page
    _login(client, world["other_officer"])
    assert client.get(f"/tenders/{tender.id}/invitations").status_code == 403

    for who in ("officer", "auditor"):
        _login(client, world[who])
        page = client.get(f"/tenders/{tender.id}/invitations")
        assert page.status_code == 200 and all(n in page.data for n in names)


# --- the officer's pages ---------------------------------------------------------------------------


def test_the_officer_prepares_invitations_through_the_pages(client, world, orgs, db):
    officer = world["officer"]
    tender = _invited_draft(officer)
    db.session.commit()
    _login(client, officer)
    detail = client.get(f"/tenders/{tender.id}")
    assert f"/tenders/{tender.id}/invitations".encode() in detail.data
    empty = client.get(f"/tenders/{tender.id}/invitations")
    assert empty.status_code == 200 and b"No organization is invited yet" in empty.data
    assert b"No draw yet" in empty.data

    bad = client.post(f"/tenders/{tender.id}/invitations/draw", data={"count": "99"})
    assert bad.status_code == 400 and b"Draw between 1 and 20" in bad.data
    too_many = client.post(f"/tenders/{tender.id}/invitations/draw", data={"count": "5"})
    assert too_many.status_code == 400 and b"Only 4 qualified organizations" in too_many.data
    assert client.post(f"/tenders/{tender.id}/invitations/draw", data={"count": "2"}).status_code == 302

    no_reason = client.post(
        f"/tenders/{tender.id}/invitations/recommend",
        data={"organization_id": "", "recommended_by": "", "reason": ""},
    )
    assert no_reason.status_code == 400 and b"Written reason is required" in no_reason.data
    db.session.expire_all()
    left = [o for o in invitations.uninvited_pool(tender)]
    assert len(left) == 2
    ok = client.post(
        f"/tenders/{tender.id}/invitations/recommend",
        data={"organization_id": str(left[0].id), "recommended_by": "专家 李四", "reason": "熟悉社区"},
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert len(tender.invitations) == 3

    page = client.get(f"/tenders/{tender.id}/invitations")
    assert b"Same picks" in page.data and "专家 李四".encode() in page.data
    preview = client.get(f"/tenders/{tender.id}/preview")
    assert b"Publishing sends the invitations to the 3 invited organizations" in preview.data

    removed = tender.invitations[0]
    assert client.post(f"/tenders/{tender.id}/invitations/{removed.id}/remove").status_code == 302
    db.session.expire_all()
    assert len(tender.invitations) == 2
    refused = client.post(f"/tenders/{tender.id}/publish", data={"confirm_not_excluded": "y"})
    assert refused.status_code == 400 and b"at least 3 invited organizations" in refused.data


def test_a_public_tender_has_no_invitations_page(client, world, db):
    tender = factories.published(world["officer"])
    db.session.commit()
    _login(client, world["officer"])
    assert client.get(f"/tenders/{tender.id}/invitations").status_code == 404
    assert client.post(f"/tenders/{tender.id}/invitations/draw", data={"count": "3"}).status_code == 403


def test_the_invitation_pages_never_write_on_get(client, world, orgs, db):
    officer = world["officer"]
    tender = _invited_draft(officer)
    invitations.draw_invitations(tender, {"count": 2}, officer)
    db.session.commit()
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            seen.append(statement)

    event.listen(_db.engine, "before_cursor_execute", listener)
    try:
        for who in ("officer", "auditor", "org_member"):
            _login(client, world[who])
            for url in (f"/tenders/{tender.id}/invitations", f"/tenders/{tender.id}", "/tenders/manage"):
                assert client.get(url).status_code < 500
    finally:
        event.remove(_db.engine, "before_cursor_execute", listener)
    assert seen == []
