"""The public search at speed (docs/search.md, "The cache" and "Per page"): the anonymous page cache
and its catalogue version (a change is seen at once, signed-in users and languages are never mixed),
and the SQL statements one search page costs. SQLite and, with TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text, update

from marketplace.extensions import cache
from marketplace.extensions import db as _db
from marketplace.tenders import search_cache
from marketplace.tenders.amendments import amend
from marketplace.tenders.cancellation import cancel
from marketplace.tenders.models import Tender
from tests import factories

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def page_cache(app):
    """The page cache on, as deployed (the suite runs without it), and empty."""
    before = app.config["SEARCH_CACHE_SECONDS"]
    app.config["SEARCH_CACHE_SECONDS"] = 60
    with app.app_context():
        cache.clear()
    yield
    app.config["SEARCH_CACHE_SECONDS"] = before
    with app.app_context():
        cache.clear()


@pytest.fixture
def statements(db):
    """The SQL statements run while the test runs (``statements.clear()`` to start again)."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def _commit():
    """What the request edge does after a verb (the test's transaction makes it a savepoint)."""
    _db.session.commit()


# --- the page cache --------------------------------------------------------------------------------


def test_a_repeated_anonymous_search_is_served_from_the_cache(client, world, db, page_cache, statements):
    factories.published(world["officer"], title="甲街道助餐服务")
    _commit()
    first = client.get("/tenders?q=助餐", headers=ZH)
    assert first.status_code == 200 and "甲街道助餐服务" in first.text
    statements.clear()
    again = client.get("/tenders?q=助餐", headers=ZH)
    assert again.text == first.text
    assert statements == []  # not one statement: the page came from the cache
    # The same search written another way (order, empty fields, first page) is the same entry.
    client.get("/tenders?category=&page=1&q=助餐", headers=ZH)
    # A parameter the page does not read (a tracking tag) makes no copy of it.
    client.get("/tenders?q=助餐&utm_source=news", headers=ZH)
    assert statements == []
    # A parameter it reads does.
    client.get("/tenders?q=助餐&sort=-budget", headers=ZH)
    assert statements


def test_a_publication_amendment_and_cancellation_show_at_once(client, world, db, page_cache):
    officer = world["officer"]
    first = factories.published(officer, title="乙街道助餐服务")
    _commit()
    assert "乙街道助餐服务" in client.get("/tenders?q=助餐", headers=EN).text
    second = factories.published(officer, title="丙街道助餐服务")
    _commit()
    page = client.get("/tenders?q=助餐", headers=EN).text
    assert "丙街道助餐服务" in page and "乙街道助餐服务" in page

    assert "¥123,456.00" not in page
    amend(second, {"reason": "预算调整", "budget_ceiling": "123456.00", "substantive": True}, officer)
    _commit()
    assert "¥123,456.00" in client.get("/tenders?q=助餐", headers=EN).text

    assert "乙街道助餐服务" in client.get("/tenders?q=助餐&status=open", headers=EN).text
    cancel(first, "需求变化", officer)
    _commit()
    assert "乙街道助餐服务" not in client.get("/tenders?q=助餐&status=open", headers=EN).text


def test_a_set_based_update_through_the_session_shows_at_once(client, world, db, page_cache):
    tender = factories.published(world["officer"], title="戊街道助餐服务")
    _commit()
    assert "戊街道助餐服务" in client.get("/tenders", headers=EN).text
    _db.session.execute(update(Tender).where(Tender.id == tender.id).values(title="己街道助浴服务"))
    _commit()
    assert "己街道助浴服务" in client.get("/tenders", headers=EN).text


def test_a_rolled_back_change_does_not_outdate_the_pages(client, world, db, page_cache, statements, app):
    factories.published(world["officer"], title="庚街道助餐服务")
    _commit()
    client.get("/tenders", headers=EN)
    with app.app_context():
        version = search_cache.catalogue_version()
    factories.published(world["officer"], title="辛街道助餐服务")
    _db.session.rollback()
    _commit()
    with app.app_context():
        assert search_cache.catalogue_version() == version
    statements.clear()
    client.get("/tenders", headers=EN)
    assert statements == []


def test_signed_in_users_are_never_served_from_the_cache(client, world, db, page_cache, login_as, statements):
    tender = factories.published(world["officer"], title="壬街道助餐服务")
    _commit()
    assert "壬街道助餐服务" in client.get("/tenders", headers=EN).text  # kept for anonymous visitors
    # A write past the ORM (no new catalogue version): anonymous visitors keep the cached page ...
    _db.session.execute(text("UPDATE tenders SET title = '癸街道助餐服务' WHERE id = :id"), {"id": tender.id})
    _commit()
    assert "壬街道助餐服务" in client.get("/tenders", headers=EN).text
    # ... a signed-in user never gets it, and their page (their e-mail in the menu) is never kept.
    login_as("org_member")
    statements.clear()
    page = client.get("/tenders", headers=EN).text
    assert "癸街道助餐服务" in page and "member@test.org" in page
    assert any("tenders" in s for s in statements)
    with client.session_transaction() as sess:
        sess.clear()
    cache.clear()
    page = client.get("/tenders", headers=EN).text
    assert "member@test.org" not in page and "癸街道助餐服务" in page


def test_languages_are_not_mixed(client, world, db, page_cache):
    factories.published(world["officer"], title="子街道助餐服务")
    _commit()
    chinese = client.get("/tenders?q=助餐", headers=ZH).text
    english = client.get("/tenders?q=助餐", headers=EN).text
    assert '<html lang="zh-CN">' in chinese and '<html lang="en">' in english
    assert '<html lang="zh-CN">' in client.get("/tenders?q=助餐", headers=ZH).text
    assert '<html lang="en">' in client.get("/tenders?q=助餐", headers=EN).text


def test_bad_input_is_not_kept(client, world, db, page_cache, statements):
    assert client.get("/tenders?budget_min=10&budget_max=5").status_code == 400
    statements.clear()
    assert client.get("/tenders?budget_min=10&budget_max=5").status_code == 400
    assert statements  # rendered again: only good pages are kept


# --- the cost of one page --------------------------------------------------------------------------

SEARCHES = [
    "/tenders",
    "/tenders?q=助",
    "/tenders?q=助餐",
    "/tenders?q=居家养老",
    "/tenders?q=rehabilitation",
    "/tenders?q=助餐&category=elderly_care",
    "/tenders?district=110101001&status=open",
    "/tenders?q=助餐&sort=-budget",
    "/tenders?q=助餐&per_page=10&page=2",
]
# The rows and a count, or for a ranked search of several tokens on PostgreSQL the newest id and up to
# two looks for its window (docs/search.md); the form's choices come from the cache, the agencies joined.
MAX_STATEMENTS = 3


@pytest.mark.parametrize("url", SEARCHES)
def test_a_search_page_costs_a_few_statements_whatever_it_lists(client, world, db, statements, url):
    officer = world["officer"]
    for k in range(25):
        factories.published(
            officer,
            title=f"居家养老助餐服务 rehabilitation {k}",
            service_area_codes=["110101001", "110101002"],
        )
    _commit()
    client.get(url, headers=ZH)  # the form's choices are built once
    statements.clear()
    page = client.get(url, headers=ZH)
    assert page.status_code == 200 and page.text.count('href="/tenders/') >= 10
    queries = [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE"))]  # the test's own
    assert len(queries) <= MAX_STATEMENTS, queries  # none per row: the agencies come joined
