"""Bids stay sealed until the opening: no route, as any role, reveals a bid's content, its bidder, or
how many bids there are.

Two checks, over every GET route in ``app.url_map`` (and the bid routes' POSTs):
1. For everyone but the bidders, every page that does not name a bid is byte-for-byte the same
   before and after two organizations bid (so not even a count leaks).
2. On every page, nobody sees a bid's markers (price, response text, attachment name, digests) except
   the members of the organization that made it; other bids' markers never appear. A submitted bid is
   encrypted and its working copy erased: its own bidder sees its receipt (the digests), not its
   content, until the opening ceremony (``/bids/opening/<tender_id>/ceremony``, walked with the rest).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import url_for

from marketplace import clock
from marketplace.tenders.bids.visibility import opening_of
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_if_due
from tests.factories import deadline_in
from tests.pages import without_csrf

OBSERVERS = [
    "anonymous",
    "officer",
    "other_officer",
    "org_member",
    "evaluator",
    "auditor",
    "admin",
    "outsider",
]
_normalise = without_csrf


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True


def _requests(app, ids):
    """(method, url, names_a_bid) for every route; POSTs only for routes naming a bid (the others
    legitimately change state, e.g. an eligible outsider saving its own draft)."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "bootstrap.static") or rule.endpoint == "main.set_language":
            continue
        values = {arg: ids.get(arg, 1) for arg in rule.arguments}
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        names_bid = bool({"bid_ref", "attachment_ref", "bond_ref"} & set(rule.arguments))
        if "GET" in rule.methods:
            out.append(("GET", url, names_bid))
        if names_bid and "POST" in rule.methods:
            out.append(("POST", url, True))
    out.append(("GET", f"/bids/{ids['bid_ref']}/receipt?download=1", True))
    return out


def _snapshot(client, users, requests):
    pages = {}
    for who, user in users.items():
        _login(client, user)
        for method, url, names_bid in requests:
            if url == "/readyz":  # operational health (no scheduler in tests: 503), no procurement data
                continue
            r = client.open(url, method=method, data={})
            assert r.status_code < 500, (who, method, url)
            pages[(who, method, url)] = (names_bid, _normalise(r.data))
    return pages


@pytest.fixture
def scene(app, world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    a_org, a_member = bf.organization("甲方潜在投标机构ALPHA")
    b_org, b_member = bf.organization("乙方潜在投标机构BRAVO")
    _, outsider = bf.organization("旁观机构")
    db.session.commit()
    users = {"anonymous": None, "outsider": outsider, **{k: world[k] for k in OBSERVERS if k in world}}
    return tender, (a_org, a_member), (b_org, b_member), users


def _bid(tender, org, member, tag, price):
    bid, receipt = bf.submitted_bid(
        tender,
        org,
        member,
        price=price,
        marker=f"SEALED-{tag}",
        files=[(f"secret-plan-{tag}.pdf", f"%PDF plan {tag}".encode())],
    )
    content = {price, f"{float(price):,.2f}", f"SEALED-{tag}", f"secret-plan-{tag}.pdf"}
    return bid, content, content | {receipt.digest, receipt.sealed_sha256, org.name}


def test_nothing_about_bids_leaks_before_opening(app, client, scene, db):
    tender, (a_org, a_member), (b_org, b_member), observers = scene
    placeholder_ids = {
        "tender_id": tender.id,
        "bid_ref": "x" * 22,
        "attachment_ref": "y" * 22,
        "bond_ref": "z" * 22,
        "org_id": a_org.id,
        "organization_id": a_org.id,
        "id": a_org.id,
        "question_id": 1,
        "doc_id": 1,
        "version": 1,
        "token": "x",
        "code": "en",
    }
    before = _snapshot(client, observers, _requests(app, placeholder_ids))

    bid_a, content_a, markers_a = _bid(tender, a_org, a_member, "ALPHA", "311111.11")
    bid_b, content_b, markers_b = _bid(tender, b_org, b_member, "BRAVO", "322222.22")
    db.session.commit()
    # The sealed attachment of version 1 (the working copy holds none after the submission).
    ids = dict(placeholder_ids, bid_ref=bid_a.public_id, attachment_ref=bid_a.kept_attachments[0].public_id)
    requests = _requests(app, ids)
    ceremony_url = f"/bids/opening/{tender.id}/ceremony"
    assert ("GET", ceremony_url, False) in requests  # the opening ceremony page is walked too
    after = _snapshot(client, observers, requests)

    # 1. Observers: pages that do not name a bid are unchanged by the bids.
    for key, (names_bid, body) in after.items():
        if not names_bid and key in before:
            assert body == before[key][1], f"page changed once bids existed: {key}"
    # 2. Observers never see any marker, even through the bid's own URLs (they get 404).
    for key, (_names_bid, body) in after.items():
        for marker in (markers_a | markers_b) - {a_org.name, b_org.name}:
            assert marker not in body, (key, marker)
        if _names_bid and key[1].startswith(f"/bids/{bid_a.public_id}"):
            assert "404" in body, key
    assert after[("officer", "GET", ceremony_url)][0] is False  # the buyer's officer sees the page…
    assert "Opening ceremony" in after[("officer", "GET", ceremony_url)][1]  # …and nothing of the bids
    # Bidders never see the other's bid, nor their own bid's content: it is sealed until the opening.
    for member, other, own in ((a_member, markers_b, content_a), (b_member, markers_a, content_b)):
        pages = _snapshot(client, {"bidder": member}, requests)
        for key, (_names_bid, body) in pages.items():
            for marker in (other - {a_org.name, b_org.name}) | own:
                assert marker not in body, (key, marker)
    # What its own bidder sees instead: the bid is sealed, and the receipt's digests.
    own = _snapshot(client, {"a": a_member}, [("GET", f"/bids/{bid_a.public_id}", True)])
    own_page = next(iter(own.values()))[1]
    assert "is sealed" in own_page and "1 sealed attachment." in own_page and bid_a.digest in own_page
    receipt = _snapshot(client, {"a": a_member}, [("GET", f"/bids/{bid_a.public_id}/receipt", True)])
    receipt_page = next(iter(receipt.values()))[1]
    assert bid_a.digest in receipt_page and bid_a.submissions[-1].sealed_sha256 in receipt_page
    assert "sealed until the opening" in receipt_page
    b_view = _snapshot(client, {"b": b_member}, [("GET", f"/bids/{bid_a.public_id}", True)])
    assert "404" in next(iter(b_view.values()))[1]


def test_api_lists_no_bids(client, scene, db):
    tender, (a_org, a_member), _b, _users = scene
    _bid(tender, a_org, a_member, "ALPHA", "311111.11")
    db.session.commit()
    body = client.get(f"/api/v1/tenders/{tender.id}").get_data(as_text=True)
    assert "311111.11" not in body and "311,111.11" not in body and "SEALED-ALPHA" not in body
    assert a_org.name not in body and "secret-plan" not in body


def test_opening_record_visibility(client, scene, world, db):
    tender, (a_org, a_member), (b_org, b_member), _users = scene
    _bid(tender, a_org, a_member, "ALPHA", "311111.11")
    db.session.commit()
    url = f"/bids/opening/{tender.id}"
    _login(client, world["officer"])
    assert client.get(url).status_code == 404  # not before the deadline, not even for the officer
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    assert client.get(url).status_code == 404  # the page does not open the bids: the job does
    open_if_due(tender)
    db.session.commit()
    for user, code in (
        (world["officer"], 200),
        (world["auditor"], 200),
        (a_member, 200),
        (b_member, 404),
        (world["other_officer"], 404),
        (None, 302),
    ):
        _login(client, user)
        r = client.get(url)
        assert r.status_code == code, (user, r.status_code)
    _login(client, a_member)
    assert opening_of(tender).failed  # one bid < 3: the tender failed and says so
