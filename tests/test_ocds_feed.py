"""The OCDS release feed (docs/ocds.md, "The release feed"): positions given after the commit under a
lock, a cursor that never misses or repeats a release, package metadata, ETags, bad cursors."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.jobs.runner import run_job
from marketplace.ocds import feed
from marketplace.ocds.models import FeedCounter, FeedRelease
from marketplace.ocds.process import ocid_of
from marketplace.ocds.releases import releases_for
from marketplace.tenders.amendments import amend
from marketplace.tenders.cancellation import cancel
from marketplace.tenders.models import Tender
from tests import factories
from tests.conftest import PG_URL
from tests.test_ocds import _validate

FEED = "/api/v1/ocds/releases"


def _follow(client, url: str) -> tuple[list[dict], str]:
    """Read the feed from ``url`` until a page is not full; (releases read, the next URL to poll)."""
    releases = []
    while True:
        r = client.get(url)
        assert r.status_code == 200, r.get_data(as_text=True)
        page = r.json
        releases.extend(page["releases"])
        url = page["links"]["next"]
        limit = int(url.rsplit("limit=", 1)[1])
        if len(page["releases"]) < limit:
            return releases, url


def _positions() -> int:
    return feed.last_position()


def test_following_the_cursor_while_releases_are_added_never_misses_or_repeats(client, world, db):
    officer = world["officer"]
    first = [factories.published(officer, title=f"服务项目{n}") for n in range(3)]
    db.session.commit()
    assert run_job("ocds-feed").changed == 3

    seen, poll = _follow(client, f"{FEED}?limit=2")
    assert [r["id"] for r in seen] == [f"{ocid_of(t)}-tender-0" for t in first]

    # Caught up: the same next link, an empty page, the same link again.
    caught_up = client.get(poll).json
    assert caught_up["releases"] == [] and caught_up["links"]["next"] == poll

    # New releases meanwhile: an amendment of the first tender and two new tenders.
    clock.advance(timedelta(hours=1))
    amend(first[0], {"reason": "预算调整", "budget_ceiling": Decimal("500000.00")}, officer)
    more = [factories.published(officer, title=f"新服务{n}") for n in range(2)]
    db.session.commit()
    assert run_job("ocds-feed").changed == 3
    assert run_job("ocds-feed").changed == 0  # idempotent: nothing is positioned twice

    later, poll = _follow(client, poll)
    assert [r["id"] for r in later] == [
        f"{ocid_of(first[0])}-tender-1",
        *(f"{ocid_of(t)}-tender-0" for t in more),
    ]
    everything = seen + later
    assert len({r["id"] for r in everything}) == len(everything)  # no repeat
    expected = {r["id"] for t in first + more for r in releases_for(t)}
    assert {r["id"] for r in everything} == expected  # no gap
    assert client.get(poll).json["releases"] == []


def test_a_get_never_positions_and_unpositioned_releases_are_not_listed(client, world, db):
    tender = factories.published(world["officer"])
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(FeedRelease))
    body = client.get(FEED).json
    assert body["releases"] == [] and body["links"]["next"]
    assert db.session.scalar(select(func.count()).select_from(FeedRelease)) == before
    feed.position_all()
    assert [r["ocid"] for r in client.get(FEED).json["releases"]] == [ocid_of(tender)]


def test_backfill_keeps_the_old_order_and_the_sweep_covers_ended_processes(client, world, db):
    officer = world["officer"]
    tenders = [factories.published(officer, title=f"服务项目{n}") for n in range(3)]
    clock.advance(timedelta(days=1))
    amend(tenders[0], {"reason": "预算调整", "budget_ceiling": Decimal("500000.00")}, officer)
    db.session.commit()
    assert run_job("ocds-feed").changed == 3  # processes, not releases

    # The old paged order: tender by tender (by id), each tender's releases oldest first.
    old_order = [r["id"] for t in tenders for r in releases_for(t)]
    assert [r["id"] for r in client.get(FEED).json["releases"]] == old_order
    rows = db.session.scalars(select(FeedRelease).order_by(FeedRelease.position)).all()
    assert [r.position for r in rows] == list(range(1, len(old_order) + 1))

    # A cancelled process is left to the slow sweep once its closing release is positioned.
    clock.advance(timedelta(hours=1))
    cancel(tenders[1], "需求变更 Needs changed", officer)
    db.session.commit()
    run_job("ocds-feed")
    closing = db.session.scalar(select(FeedRelease).where(FeedRelease.release_id.like("%-cancellation")))
    assert closing.closing and closing.tender_id == tenders[1].id
    live = set(db.session.scalars(feed.live_processes_query()))
    assert tenders[1].id not in live and tenders[0].id in live
    assert tenders[1].id in set(db.session.scalars(feed.all_processes_query()))
    # An ended process's release the fast job no longer looks for is positioned by the sweep.
    first_release = select(FeedRelease).where(FeedRelease.release_id == f"{ocid_of(tenders[1])}-tender-0")
    db.session.delete(db.session.scalar(first_release))
    db.session.commit()
    assert run_job("ocds-feed").changed == 0
    assert run_job("ocds-feed-sweep").changed == 1


def test_feed_page_is_a_valid_release_package_with_its_metadata(client, world, db, tmp_path):
    factories.published(world["officer"])
    db.session.commit()
    feed.position_all()
    r = client.get(f"{FEED}?limit=100")
    package = r.json
    assert package["version"] == "1.1" and package["publisher"]["name"]
    assert package["license"].startswith("https://creativecommons.org/licenses/by/4.0")
    assert package["publicationPolicy"] == "http://localhost/open/ocds"
    # publishedDate: when the page's last release was published to the feed, not the request's time.
    assert package["publishedDate"] == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    out = tmp_path / "feed.json"
    out.write_text(r.get_data(as_text=True), encoding="utf-8")
    _validate(out)

    one = client.get(f"/api/v1/ocds/records/{package['releases'][0]['ocid']}").json
    assert one["publicationPolicy"] == package["publicationPolicy"] and one["license"] == package["license"]


def test_publication_policy_page_in_both_languages(client, db):
    for lang in ("en", "zh-CN"):
        r = client.get("/open/ocds", headers={"Accept-Language": lang})
        assert r.status_code == 200
        body = r.get_data(as_text=True)
        assert 'id="ocds-withheld"' in body and "/api/v1/ocds/releases" in body
        assert "creativecommons.org/licenses/by/4.0" in body
    body = client.get("/open/ocds", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Sealed bids" in body and "Personal data" in body
    # Reachable from the open-data pages' tabs.
    assert 'href="/open/ocds"' in client.get("/open/audit-heads").get_data(as_text=True)


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "since",
    [
        "!!!",
        "x" * 65,
        "%C2%B2",
        _cursor("ocds-feed:-1"),
        _cursor("ocds-feed:01"),
        _cursor("ocds-feed:99999"),  # ahead of the feed
        _cursor("other:1"),
        "AAAA",
    ],
)
def test_a_bad_cursor_is_a_400_problem_and_changes_nothing(client, world, db, since):
    factories.published(world["officer"])
    db.session.commit()
    feed.position_all()
    r = client.get(f"{FEED}?since={since}")
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.content_type.startswith("application/problem+json")
    assert r.json["status"] == 400 and "cursor" in r.json["detail"]


@pytest.mark.parametrize("limit", ["0", "101", "abc", "%D9%A3", "9" * 5000, "-1"])
def test_a_bad_limit_is_a_400_problem(client, db, limit):
    r = client.get(f"{FEED}?limit={limit}")
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.content_type.startswith("application/problem+json")
    assert "must be a whole number from 1 to 100" in json.dumps(r.json, ensure_ascii=False)


def test_cursors_round_trip_and_the_start_is_zero():
    assert feed.decode_cursor(None) == 0 and feed.decode_cursor("") == 0
    assert feed.encode_cursor(7) != "7"  # opaque


def test_etag_and_if_none_match_on_feed_pages_and_records(client, world, db):
    tender = factories.published(world["officer"])
    db.session.commit()
    feed.position_all()
    ocid = ocid_of(tender)
    for url in (
        f"{FEED}?limit=1",
        FEED,
        f"/api/v1/ocds/records/{ocid}",
        f"/api/v1/ocds/releases/{ocid}",
        "/api/v1/ocds/records",
    ):
        first = client.get(url)
        etag = first.headers["ETag"]
        assert first.status_code == 200 and etag, url
        clock.advance(timedelta(minutes=5))  # the package's publishedDate does not follow the clock
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b"", url

    # A full page never changes; the last (partial) page changes when a release is added.
    full = client.get(f"{FEED}?limit=1")
    partial = client.get(FEED)
    clock.advance(timedelta(hours=1))
    factories.published(world["officer"], title="新服务")
    db.session.commit()
    feed.position_all()
    assert client.get(f"{FEED}?limit=1", headers={"If-None-Match": full.headers["ETag"]}).status_code == 304
    changed = client.get(FEED, headers={"If-None-Match": partial.headers["ETag"]})
    assert changed.status_code == 200 and len(changed.json["releases"]) == 2


@pytest.mark.skipif(
    not PG_URL,
    reason="SQLite admits one writing transaction at a time (BEGIN IMMEDIATE), so a release's transaction "
    "cannot commit after a later one was positioned: the case only arises on PostgreSQL",
)
def test_a_release_committed_late_is_seen_after_the_cursor(app, committed):
    """Two sessions: tender A is published in a transaction that stays open while tender B (later) is
    published, committed and positioned, and a harvester reads the feed. A's release is dated before
    B's, yet the harvester finds it after its cursor once A commits."""
    from marketplace.extensions import db

    world = factories.world()
    a = factories.draft(world["officer"], title="迟提交的服务")
    db.session.commit()
    a_id = a.id

    late = Session(db.engine)
    try:
        # A's transaction: published at "now", not committed yet.
        late.execute(update(Tender).where(Tender.id == a_id).values(status="open", published_at=clock.now()))
        late.flush()

        clock.advance(timedelta(minutes=10))
        b = factories.published(world["officer"], title="先提交的服务")
        db.session.commit()
        run_job("ocds-feed")
        client = app.test_client()
        seen, poll = _follow(client, FEED)
        assert [r["ocid"] for r in seen] == [ocid_of(b)]  # A is not committed: not in the feed

        late.commit()
    finally:
        late.close()

    run_job("ocds-feed")
    later, _ = _follow(client, poll)
    a = db.session.get(Tender, a_id)
    assert [r["ocid"] for r in later] == [ocid_of(a)]
    assert later[0]["date"] < seen[0]["date"]  # dated before B's release, listed after the cursor


@pytest.mark.skipif(not PG_URL, reason="SELECT ... FOR UPDATE is PostgreSQL's; SQLite serialises writers")
def test_positioning_waits_for_the_counter_lock(app, committed):
    """Positions are given under the counter row's lock: while another transaction holds it, a
    positioner cannot proceed (here it gives up at once instead of waiting)."""
    from marketplace.extensions import db

    world = factories.world()
    tender = factories.published(world["officer"])
    feed._lock_counter()  # the counter row exists (an earlier test's TRUNCATE may have removed it)
    db.session.commit()
    holder = Session(db.engine)
    try:
        holder.execute(select(FeedCounter).where(FeedCounter.id == 1).with_for_update())
        db.session.execute(text("SET LOCAL lock_timeout = '50ms'"))
        with pytest.raises(OperationalError, match="lock") as caught:
            feed.position_releases(tender.id)
        assert "FOR UPDATE" in caught.value.statement  # it waits before reading the counter
        db.session.rollback()
    finally:
        holder.rollback()
        holder.close()
    assert feed.position_releases(tender.id) == 1
    db.session.commit()
    assert feed.last_position() == 1
