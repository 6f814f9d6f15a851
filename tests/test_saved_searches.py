"""Saved searches with alerts (issue 20, item 5): matching by the public search's rules, one alert per
tender and search, the daily digest (open tenders only, invited tenders only to the invited), the
one-click unsubscribe, who may see and change a search, and the pages."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.alerts import digest, matching, services, tokens
from marketplace.alerts.models import SavedSearch, SavedSearchHit
from marketplace.core import notifications
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import Notification
from marketplace.jobs import runner
from marketplace.tenders import invitations, search
from marketplace.tenders.models import OPEN
from marketplace.tenders.publication import publish
from tests import bid_factories as bf
from tests import factories

JOB = "saved-search-alerts"


@pytest.fixture
def member(world, db):
    """A verified organization and its member (the one who saves searches)."""
    org, user = bf.organization("东城社工服务中心")
    return user


def save(user, **data):
    values = {"name": "搜索", "keywords": "", "categories": [], "district_codes": []}
    values.update(data)
    saved = services.save_search(values, user)
    clock.advance(timedelta(minutes=1))  # tenders published from now on are new to it
    return saved


def hits(saved) -> set[int]:
    from marketplace.extensions import db

    return set(
        db.session.scalars(select(SavedSearchHit.tender_id).where(SavedSearchHit.search_id == saved.id))
    )


def run_alerts(user) -> bool:
    return digest.send_alerts(clock.now(), user.id)


def inbox(user) -> list[Notification]:
    from marketplace.extensions import db

    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == digest.KIND)
        )
    )


def page_ids(**filters) -> set[int]:
    """What the public search page lists for these filters (open tenders)."""
    page = search.search_page(search.TenderFilters(status=OPEN, **filters), 1, 100)
    return {t.id for t in page.items}


# --- matching: the search page's rules -------------------------------------------------------------


def test_keywords_match_as_the_search_page_does_in_chinese_and_english(world, member, db):
    officer = world["officer"]
    by_cjk = save(member, name="养老", keywords="养老")
    by_english = save(member, name="care", keywords="home care")
    by_both = save(member, name="两者", keywords="养老 Visits")
    care = factories.published(officer, title="社区养老服务", description="为老人提供助餐。Meals for elders.")
    home = factories.published(officer, title="Home care visits", description="上门服务 home visits")
    youth = factories.published(
        officer, title="青少年托管", description="After-school care for children.", category="minors_youth"
    )
    both = factories.published(officer, title="居家养老上门 visits", description="Home visits.")
    db.session.flush()
    run_alerts(member)
    assert hits(by_cjk) == {care.id, both.id} == page_ids(q="养老")
    assert hits(by_english) == {home.id} == page_ids(q="home care")
    assert hits(by_both) == {both.id} == page_ids(q="养老 Visits")
    assert youth.id not in hits(by_english) | hits(by_cjk)


def test_categories_areas_and_budget_range_narrow_the_alerts(world, member, db):
    officer = world["officer"]
    by_category = save(member, name="类别", categories=["minors_youth", "disability"])
    by_street = save(member, name="街道", district_codes=["110101002"])
    by_streets = save(member, name="两个街道", district_codes=["110101002", "110101003"])
    by_county = save(member, name="区县", district_codes=["110101"])
    by_budget = save(member, name="预算", budget_min=Decimal("100000"), budget_max=Decimal("300000"))
    elderly = factories.published(officer)  # elderly care in 110101, serving 110101001, 480,000
    youth = factories.published(officer, category="minors_youth", service_area_codes=["110101002"])
    cheap = factories.published(officer, budget_ceiling=Decimal("300000.00"))
    too_cheap = factories.published(officer, budget_ceiling=Decimal("99999.99"))
    third = factories.published(officer, service_area_codes=["110101003"])
    db.session.flush()
    run_alerts(member)
    everything = {elderly.id, youth.id, cheap.id, too_cheap.id, third.id}
    assert hits(by_category) == {youth.id}
    assert hits(by_street) == {youth.id} == page_ids(district="110101002")
    assert hits(by_streets) == {youth.id, third.id}
    assert hits(by_county) == everything == page_ids(district="110101")
    assert (
        hits(by_budget) == {cheap.id} == page_ids(budget_min=Decimal("100000"), budget_max=Decimal("300000"))
    )
    assert too_cheap.id not in hits(by_budget)


def test_only_tenders_published_after_the_search_was_saved_are_alerted(world, member, db):
    old = factories.published(world["officer"], title="旧的养老项目")
    clock.advance(timedelta(minutes=5))
    saved = save(member, keywords="养老")
    new = factories.published(world["officer"], title="新的养老项目")
    run_alerts(member)
    assert hits(saved) == {new.id} and old.id in page_ids(q="养老")


# --- the digest: no duplicates, open tenders only, invited tenders only to the invited -------------


def test_no_tender_is_alerted_twice_across_runs(world, member, db):
    saved = save(member, keywords="养老")
    first = factories.published(world["officer"], title="养老一")
    assert run_alerts(member) is True
    assert run_alerts(member) is False  # nothing new: no second notification
    clock.advance(timedelta(hours=30))
    second = factories.published(world["officer"], title="养老二")
    assert run_alerts(member) is True
    notes = inbox(member)
    assert len(notes) == 2
    assert f"/tenders/{first.id}" in notes[0].params["list"] and "养老二" not in notes[0].params["list"]
    assert f"/tenders/{second.id}" in notes[1].params["list"] and "养老一" not in notes[1].params["list"]
    assert hits(saved) == {first.id, second.id}
    assert saved.alerted_until == clock.now() and saved.last_alert_at == clock.now()


def test_a_publication_committed_late_is_still_alerted_once(world, member, db):
    """A tender published (its ``published_at``) just before a run but seen only by the next run is
    alerted by that next run, within matching.LAG."""
    saved = save(member, keywords="养老")
    late = factories.published(world["officer"], title="迟到的养老项目")
    clock.advance(timedelta(minutes=10))
    saved.alerted_until = clock.now()  # a run that looked before the publication was committed
    clock.advance(timedelta(minutes=20))
    assert run_alerts(member) is True and hits(saved) == {late.id}
    assert run_alerts(member) is False


def test_one_digest_per_user_lists_a_tender_matched_by_two_searches_once(world, member, db):
    save(member, name="养老", keywords="养老")
    save(member, name="东城", district_codes=["110101"])
    tender = factories.published(world["officer"], title="养老助餐")
    run_alerts(member)
    (note,) = inbox(member)
    assert note.params["count"] == 1 and note.params["list"].count(f"/tenders/{tender.id}") == 1


def test_closed_tenders_are_left_out_of_the_digest(world, member, db):
    saved = save(member, keywords="养老")
    closing = factories.published(
        world["officer"], title="即将截止的养老项目", bid_deadline=factories.deadline_in(21)
    )
    cancelled = factories.published(world["officer"], title="取消的养老项目")
    from marketplace.tenders.cancellation import cancel

    cancel(cancelled, "预算调整", world["officer"])
    later = factories.published(
        world["officer"], title="仍开放的养老项目", bid_deadline=factories.deadline_in(42)
    )
    clock.advance(timedelta(days=25))  # past the first deadline, before the other
    run_alerts(member)
    assert hits(saved) == {later.id}
    (note,) = inbox(member)
    assert closing.title not in note.params["list"] and cancelled.title not in note.params["list"]


def test_invited_tenders_only_reach_the_invited_organizations(world, member, db):
    officer = world["officer"]
    invited = [bf.organization(f"受邀组织{i}") for i in range(3)]
    searches = {user.id: save(user, keywords="养老") for _org, user in invited}
    outsider = save(member, keywords="养老")
    tender = factories.draft(officer, method="invited_tender", title="邀请招标养老项目")
    for org, _user in invited:
        invitations.recommend(
            tender,
            {"organization_id": org.id, "recommended_by": "王老师", "reason": "同类项目经验丰富。"},
            officer,
        )
    publish(tender, officer, confirm_not_excluded=True)
    open_one = factories.published(officer, title="公开招标养老项目")
    for _org, user in invited:
        run_alerts(user)
        assert hits(searches[user.id]) == {tender.id, open_one.id}
    run_alerts(member)
    assert hits(outsider) == {open_one.id}
    (note,) = inbox(member)
    assert tender.title not in note.params["list"]


def test_a_paused_search_alerts_nothing_and_resumes_from_then_on(world, member, db):
    saved = save(member, keywords="养老")
    assert services.set_paused(saved, True, member) is True
    during = factories.published(world["officer"], title="暂停期间的养老项目")
    clock.advance(timedelta(hours=2))
    assert digest.users_due(clock.now(), None, 10) == ([], None)
    assert run_alerts(member) is False and inbox(member) == []
    services.set_paused(saved, False, member)
    clock.advance(timedelta(minutes=1))
    after = factories.published(world["officer"], title="恢复后的养老项目")
    run_alerts(member)
    assert hits(saved) == {after.id} and during.id not in hits(saved)


def test_a_member_who_left_the_organization_is_not_alerted(world, member, db):
    saved = save(member, keywords="养老")
    factories.published(world["officer"], title="养老")
    member.organization_id = None
    run_alerts(member)
    assert hits(saved) == set() and inbox(member) == []


# --- the job -----------------------------------------------------------------------------------------


def test_the_job_alerts_each_user_once_and_is_idempotent(world, member, db):
    _org, colleague = bf.organization("另一个组织")
    save(member, keywords="养老")
    save(colleague, keywords="养老")
    save(colleague, name="暂停", keywords="服务").paused = True
    factories.published(world["officer"], title="养老服务")
    first = runner.run_job(JOB)
    assert first.status == "ok" and first.changed == 2
    assert sorted(first.details["alerted_users"]) == sorted([member.id, colleague.id])
    again = runner.run_job(JOB)
    assert again.status == "ok" and again.changed == 0
    assert len(inbox(member)) == 1 and len(inbox(colleague)) == 1
    assert db.session.scalar(select(func.count()).select_from(SavedSearchHit)) == 2


def test_the_digest_mail_carries_a_one_click_unsubscribe(app, world, member, db):
    from tests.test_mail import mail_settings

    save(member, name="养老", keywords="养老")
    save(member, name="不发邮件", keywords="助餐", email_digest=False)
    tender = factories.published(world["officer"], title="养老服务")
    quiet = factories.published(world["officer"], title="社区助餐")
    with mail_settings(app, MAIL_SERVER="127.0.0.1", PUBLIC_BASE_URL="https://gov.example.cn"):
        run_alerts(member)
        (mail,) = notifications.pending_mail()
        message = notifications.mail.build_message(mail)
        db.session.rollback()  # nothing is sent in this test
    assert mail.to == member.email
    assert f"https://gov.example.cn/tenders/{tender.id}" in mail.body
    assert quiet.title not in mail.body  # its search's email is off (it is in the inbox)
    headers = dict(mail.headers)
    link = re.search(r"https://gov\.example\.cn/saved-searches/unsubscribe/\S+", mail.body).group(0)
    assert headers["List-Unsubscribe"] == f"<{link}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"


# --- unsubscribe ---------------------------------------------------------------------------------------


def test_the_unsubscribe_link_asks_on_get_and_stops_the_emails_on_post(client, world, member, db):
    saved = save(member, keywords="养老")
    url = tokens.unsubscribe_path(member)
    db.session.commit()
    page = client.get(url)
    assert page.status_code == 200 and "Unsubscribe" in page.text
    db.session.expire_all()
    assert saved.email_digest is True  # GET never writes
    done = client.post(url)
    assert done.status_code == 200 and "no longer receive" in done.text
    db.session.expire_all()
    assert saved.email_digest is False and saved.paused is False  # the inbox alerts go on
    twice = client.post(url)
    assert twice.status_code == 200 and "already unsubscribed" in twice.text
    assert "already unsubscribed" in client.get(url).text


def test_a_one_click_post_from_a_mail_client_unsubscribes(client, csrf, world, member, db):
    saved = save(member, keywords="养老")
    db.session.commit()
    r = client.post(tokens.unsubscribe_path(member), data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    db.session.expire_all()
    assert saved.email_digest is False


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "x" + t, lambda t: "1"]
)
def test_a_tampered_unsubscribe_link_changes_nothing(client, world, member, db, mangle):
    saved = save(member, keywords="养老")
    db.session.commit()
    url = tokens.UNSUBSCRIBE_PATH + mangle(tokens.make(member))
    assert client.get(url).status_code == 400
    r = client.post(url)
    assert r.status_code == 400 and "not valid" in r.text
    db.session.expire_all()
    assert saved.email_digest is True


def test_a_token_names_its_user_only(world, member, db):
    _org, other = bf.organization("别的组织")
    assert tokens.read(tokens.make(member)) == member
    assert tokens.read(tokens.make(other)) == other
    assert tokens.read(None) is None and tokens.read("a" * 400) is None


# --- validation and the cap ---------------------------------------------------------------------------


def test_a_search_needs_a_criterion_a_sane_budget_and_known_choices(world, member, db):
    with pytest.raises(RuleViolation, match="at least one keyword"):
        services.save_search({"name": "空"}, member)
    with pytest.raises(RuleViolation, match="upper bound is below") as exc:
        services.save_search({"name": "b", "budget_min": Decimal(5), "budget_max": Decimal(1)}, member)
    assert exc.value.field == "budget_max"
    with pytest.raises(RuleViolation, match="from the list"):
        services.save_search({"name": "c", "categories": ["no_such"]}, member)
    with pytest.raises(RuleViolation, match="from the list"):
        services.save_search({"name": "d", "district_codes": ["999999"]}, member)
    with pytest.raises(RuleViolation, match="at most 10 words"):
        services.save_search({"name": "e", "keywords": " ".join("abcdefghijk")}, member)
    with pytest.raises(RuleViolation, match="a name"):
        services.save_search({"name": "  ", "keywords": "养老"}, member)


def test_an_organization_keeps_at_most_the_cap(client, login_as, world, member, db):
    for i in range(services.MAX_PER_ORGANIZATION):
        services.save_search({"name": f"s{i}", "keywords": "养老"}, member)
    with pytest.raises(RuleViolation, match="the most it may keep"):
        services.save_search({"name": "one more", "keywords": "养老"}, member)
    db.session.commit()
    client_login(client, member)
    r = client.post("/saved-searches/new", data={"name": "one more", "keywords": "养老"})
    assert r.status_code == 400 and "the most it may keep" in r.text
    assert services.organization_count(member.organization_id) == services.MAX_PER_ORGANIZATION


# --- pages and permissions ------------------------------------------------------------------------------


def client_login(client, user):
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True


def test_save_this_search_from_the_search_page_with_its_filters(client, world, member, db):
    db.session.commit()
    client_login(client, member)
    page = client.get("/tenders?q=养老&category=elderly_care&district=110101001&budget_min=1000&status=open")
    link = re.search(r'id="save-search" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    form = client.get(link)
    assert form.status_code == 200 and 'id="dropped-filters"' in form.text  # the status is not kept
    assert db.session.scalar(select(func.count()).select_from(SavedSearch)) == 0  # GET saved nothing
    assert 'value="养老"' in form.text and ('value="1000.00"' in form.text or 'value="1000"' in form.text)
    assert re.search(r'value="elderly_care"[^>]*checked|checked[^>]*value="elderly_care"', form.text)
    assert re.search(r'<option selected value="110101001"|value="110101001" selected', form.text)
    r = client.post(
        "/saved-searches/new",
        data={
            "name": "养老",
            "keywords": "养老",
            "categories": ["elderly_care"],
            "district_codes": ["110101001"],
            "budget_min": "1000",
            "email_digest": "y",
        },
    )
    assert r.status_code == 302
    (saved,) = db.session.scalars(select(SavedSearch)).all()
    assert saved.categories == ["elderly_care"] and saved.district_codes == ["110101001"]
    assert saved.budget_min == Decimal("1000") and saved.user_id == member.id
    listing = client.get("/saved-searches")
    assert listing.status_code == 200 and "养老" in listing.text
    assert client.get("/").text.count('href="/saved-searches"') >= 1  # in the navigation


def test_edit_pause_resume_and_delete_from_the_pages(client, world, member, db):
    saved = save(member, name="旧名", keywords="养老")
    db.session.commit()
    client_login(client, member)
    bad = client.post(
        f"/saved-searches/{saved.id}/edit", data={"name": "x", "budget_min": "9", "budget_max": "1"}
    )
    assert bad.status_code == 400 and "upper bound is below" in bad.text
    r = client.post(f"/saved-searches/{saved.id}/edit", data={"name": "新名", "keywords": "助餐"})
    assert r.status_code == 302
    db.session.expire_all()
    assert saved.name == "新名" and saved.keywords == "助餐" and saved.email_digest is False  # box unticked
    assert client.post(f"/saved-searches/{saved.id}/pause").status_code == 302
    db.session.expire_all()
    assert saved.paused is True
    assert client.post(f"/saved-searches/{saved.id}/resume").status_code == 302
    db.session.expire_all()
    assert saved.paused is False
    assert client.get(f"/saved-searches/{saved.id}").status_code == 200
    assert client.post(f"/saved-searches/{saved.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(SavedSearch)) == 0


def test_only_the_organizations_users_see_and_change_its_searches(client, login_as, world, member, db):
    saved = save(member, keywords="养老")
    _org, stranger = bf.organization("别的组织")
    db.session.commit()
    urls = [f"/saved-searches/{saved.id}", f"/saved-searches/{saved.id}/edit"]
    posts = [f"/saved-searches/{saved.id}/{verb}" for verb in ("edit", "pause", "delete")]
    client_login(client, stranger)
    for url in urls:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, data={"name": "hijack", "keywords": "x"}).status_code == 404, url
    assert "养老" not in client.get("/saved-searches").text
    for role in ("officer", "org_member", "auditor", "admin"):  # org_member: no organization
        login_as(role)
        assert client.get("/saved-searches").status_code == 403, role
        assert client.get("/saved-searches/new").status_code == 403, role
        assert client.get(urls[0]).status_code == 404, role
    client.post("/auth/logout")
    with client.session_transaction() as sess:
        sess.clear()
    assert client.get("/saved-searches").status_code == 302
    db.session.expire_all()
    assert saved.name == "搜索" and saved.paused is False


def test_a_colleague_in_the_same_organization_may_manage_it(client, world, member, db):
    from marketplace.auth import services as auth_services

    saved = save(member, keywords="养老")
    colleague = auth_services.create_user(
        email="colleague@test.org", role="org_member", password=factories.PASSWORD
    )
    colleague.organization_id = member.organization_id
    db.session.commit()
    client_login(client, colleague)
    assert client.get(f"/saved-searches/{saved.id}").status_code == 200
    assert "养老" in client.get("/saved-searches").text


def test_the_pages_render_in_chinese(client, world, member, db):
    save(member, keywords="养老")
    db.session.commit()
    client_login(client, member)
    client.get("/lang/zh_CN")
    assert client.get("/saved-searches").status_code == 200
    assert client.get("/saved-searches/new").status_code == 200
    assert client.get(tokens.unsubscribe_path(member)).status_code == 200


def test_matching_uses_the_public_search_index(world, member, db):
    """The alert query is the search page's query (its index) narrowed, never a query of its own."""
    from marketplace.tenders import search_index

    saved = save(member, keywords="养老", categories=["elderly_care"])
    sql = str(matching.matching(saved).compile(db.session.get_bind()))
    assert search_index.FTS_TABLE in sql or "search_tokens @@" in sql
