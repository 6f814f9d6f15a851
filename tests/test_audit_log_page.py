"""The auditor's audit log page (/audit): filters, date range, pagination, chain columns, sealed bids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest

from marketplace import clock
from marketplace.audit import chain as audit_chain
from marketplace.audit import log as audit
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_sealed

COLUMNS = ("seq", "time", "actor", "action", "object", "summary", "hash")


class _Page(HTMLParser):
    """The event table's rows (cell texts by column) and the pagination links."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []
        self.page_links: list[str] = []
        self._in_body = False
        self._cell: list[str] | None = None
        self._cells: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self._cells = []
        elif self._in_body and tag == "td":
            self._cell = []
        elif tag == "a" and "page-link" in (attrs.get("class") or ""):
            self.page_links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif self._in_body and tag == "td" and self._cell is not None:
            self._cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif self._in_body and tag == "tr":
            self.rows.append(dict(zip(COLUMNS, self._cells, strict=True)))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _page(response) -> _Page:
    page = _Page()
    page.feed(response.get_data(as_text=True))
    return page


def _rows(response) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "time"} for row in _page(response).rows]


def _summaries(response) -> list[str]:
    return [r["summary"] for r in _rows(response)]


@pytest.fixture
def events(world, db):
    """Four events by different actors at different local days (Asia/Shanghai), committed (so linked)."""
    made = {}
    for key, moment, actor, action, obj_type, obj_id in (
        ("sun", datetime(2026, 3, 8, 2, 0, tzinfo=UTC), world["officer"], "test.publish", "notice", "7"),
        # 2026-03-09 17:30 UTC is already 2026-03-10 01:30 in Beijing.
        (
            "late",
            datetime(2026, 3, 9, 17, 30, tzinfo=UTC),
            world["admin"],
            "test.verify",
            "organization",
            "3",
        ),
        ("tue", datetime(2026, 3, 10, 2, 0, tzinfo=UTC), world["officer"], "test.publish", "notice", "8"),
        ("sys", datetime(2026, 3, 10, 3, 0, tzinfo=UTC), None, "test.publish", "notice", "7"),
    ):
        with clock.frozen(moment):
            made[key] = audit.record(actor, action, obj_type, obj_id, f"event {key}")
    db.session.commit()
    audit_chain.seal_all()  # what the seal-audit job does
    db.session.commit()
    db.session.expire_all()
    return made


def test_auditor_sees_seq_and_hash_prefix(client, login_as, events):
    login_as("auditor")
    r = client.get("/audit?action=test.publish")
    assert r.status_code == 200
    rows = _rows(r)
    # Newest link first.
    assert [row["summary"] for row in rows] == ["event sys", "event tue", "event sun"]
    sys_event = events["sys"]
    assert rows[0]["seq"] == str(sys_event.seq)
    assert rows[0]["hash"] == sys_event.hash[:12]
    assert f'title="{sys_event.hash}"' in r.get_data(as_text=True)
    assert rows[0]["actor"] == "System"  # by its name in the reader's language


def test_filters_by_object_actor_and_action(client, login_as, events):
    login_as("auditor")
    assert _summaries(client.get("/audit?object_type=notice&object_id=7")) == ["event sys", "event sun"]
    assert _summaries(client.get("/audit?object_type=organization")) == ["event late"]
    assert _summaries(client.get("/audit?action=test.verify")) == ["event late"]
    # Actor: part of the email, any case.
    assert _summaries(client.get("/audit?actor=OFFICER@test&action=test.publish")) == [
        "event tue",
        "event sun",
    ]
    assert _summaries(client.get("/audit?actor=admin@")) == ["event late"]
    # LIKE wildcards are taken literally.
    r = client.get("/audit?actor=%25")
    assert _rows(r) == [] and "No events match these filters." in r.get_data(as_text=True)
    r = client.get("/audit?actor=_fficer")
    assert _rows(r) == []


def test_date_range_is_local_days_inclusive(client, login_as, events):
    login_as("auditor")
    assert _summaries(client.get("/audit?from=2026-03-10&action=test.verify")) == ["event late"]
    assert _summaries(client.get("/audit?from=2026-03-10&to=2026-03-10&object_type=notice")) == [
        "event sys",
        "event tue",
    ]
    assert _summaries(client.get("/audit?to=2026-03-09&action=test.publish")) == ["event sun"]
    assert _summaries(client.get("/audit?from=2026-03-08&to=2026-03-08")) == ["event sun"]
    r = client.get("/audit?from=2026-03-10&to=2026-03-10&object_type=notice")
    page = r.get_data(as_text=True)
    assert 'value="2026-03-10"' in page  # the form keeps the filter


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2026-13-01", "The start date must be a date written YYYY-MM-DD."),
        ("to=yesterday", "The end date must be a date written YYYY-MM-DD."),
        ("from=2026-03-10&to=2026-03-08", "The end date cannot be before the start date."),
        ("from=" + "9" * 500, "The start date must be a date written YYYY-MM-DD."),
        # The far ends of the calendar overflow once moved to UTC or to the next day: refused, no 500.
        ("to=9999-12-31", "The end date must be between 1900-01-01 and 9998-12-31."),
        ("from=0001-01-01", "The start date must be between 1900-01-01 and 9998-12-31."),
    ],
)
def test_bad_dates_give_a_message_not_a_500(client, login_as, events, query, message):
    login_as("auditor")
    r = client.get(f"/audit?{query}&object_type=organization")
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    # The other filters still apply.
    assert _summaries(r) == ["event late"]


def test_pagination_keeps_the_filters(client, login_as, world, db):
    for i in range(5):
        audit.record(world["officer"], "test.page", "thing", i, f"page event {i}")
    audit.record(world["officer"], "test.other", "thing", 99, "not on these pages")
    db.session.commit()
    login_as("auditor")
    r = client.get("/audit?action=test.page&actor=officer&from=2026-03-01&per_page=2")
    assert _summaries(r) == ["page event 4", "page event 3"]
    page3 = next(href for href in _page(r).page_links if "page=3" in href)
    assert parse_qs(urlparse(page3).query) | {"page": ["3"]} == {
        "action": ["test.page"],
        "actor": ["officer"],
        "from": ["2026-03-01"],
        "page": ["3"],
    }
    assert _summaries(client.get(page3 + "&per_page=2")) == ["page event 0"]


def test_empty_state(client, login_as, world):
    login_as("auditor")
    r = client.get("/audit?action=no.such.action")
    assert r.status_code == 200
    assert "No events match these filters." in r.get_data(as_text=True)


def test_an_event_not_yet_linked_is_marked(client, login_as, world, db):
    audit.record(world["officer"], "test.pending", "thing", 1, "flushed, not committed")
    db.session.flush()
    login_as("auditor")
    rows = _rows(client.get("/audit?action=test.pending"))
    assert rows == [
        {
            "seq": "—",
            "actor": "officer@test.org",
            "action": "test.pending",
            "object": "thing 1",
            "summary": "flushed, not committed",
            "hash": "not chained",
        }
    ]


def test_bid_events_stay_sealed_until_opening(client, login_as, world, db):
    tender = factories.published(world["officer"], bid_deadline=factories.deadline_in(29))
    org, member = bf.organization("审计机构")
    bf.submitted_bid(tender, org, member)
    for i in range(2):  # enough bids to be opened (with fewer they stay sealed for good)
        bf.submitted_bid(tender, *bf.organization(f"审计机构{i}"))
    db.session.commit()
    login_as("auditor")
    for query in ("object_type=bid", f"actor={member.email}", ""):
        assert not [r for r in _rows(client.get(f"/audit?{query}")) if r["object"].startswith("Bid ")], query
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    open_sealed(tender, world["officer"])
    db.session.commit()
    rows = _rows(client.get("/audit?object_type=bid"))
    assert rows and all(r["object"].startswith("Bid ") for r in rows)  # the object type by its name


@pytest.mark.parametrize("who", ["officer", "org_member", "evaluator"])
def test_only_auditors_and_admins_see_the_log(client, login_as, who):
    login_as(who)
    assert client.get("/audit").status_code == 403


def test_admin_sees_the_log(client, login_as, events):
    login_as("admin")
    assert client.get("/audit").status_code == 200
