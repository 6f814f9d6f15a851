"""Bidding through the web forms."""

import base64
import hashlib
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.tenders.bids.digest import digest_of
from marketplace.tenders.bids.models import Bid
from tests import bid_factories as bf
from tests import factories
from tests.factories import deadline_in


@pytest.fixture
def scene(world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    org, member = bf.organization("阳光社工服务中心")
    db.session.commit()
    return tender, org, member


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


def _form(tender, price="300000.00", submit=True):
    data = {"price": price}
    for c in tender.technical_criteria:
        data[f"response_{c.id}"] = f"关于{c.name}的响应"
    for key in ("no_major_violations", "independent_bid", "accept_terms", "no_onward_subcontracting"):
        data[f"decl_{key}"] = "y"
    data["submit_bid" if submit else "save"] = "1"
    return data


def test_prepare_save_submit_receipt(client, scene, db):
    tender, org, member = scene
    _login(client, member)
    page = client.get(f"/bids/tender/{tender.id}")
    assert page.status_code == 200 and "服务方案".encode() in page.data
    r = client.post(f"/bids/tender/{tender.id}", data=_form(tender, submit=False))
    assert r.status_code == 302
    bid = db.session.scalars(select(Bid)).one()
    assert bid.status == "draft"
    data = _form(tender)
    data["attachments"] = [(io.BytesIO(b"%PDF plan"), "服务方案.pdf")]
    r = client.post(f"/bids/tender/{tender.id}", data=data, content_type="multipart/form-data")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/bids/{bid.public_id}/receipt")
    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    receipt = client.get(f"/bids/{bid.public_id}/receipt")
    assert bid.digest.encode() in receipt.data
    # Sealed until the opening: the receipt shows the digests, not the content.
    sealed = bid.submissions[-1]
    assert sealed.sealed_sha256.encode() in receipt.data and b"sealed until the opening" in receipt.data
    assert b"300,000" not in receipt.data
    download = client.get(f"/bids/{bid.public_id}/receipt?download=1")
    payload = json.loads(download.data)
    assert payload["sha256"] == bid.digest and payload["version"] == 1
    assert payload["content"] is None and payload["sealed"]
    assert payload["sealed_sha256"] == hashlib.sha256(base64.b64decode(sealed.sealed)).hexdigest()
    # After the opening the receipt carries the content: the organization can check the digest itself.
    for i in range(2):
        other, other_member = bf.organization(f"其他机构{i}")
        bf.submitted_bid(tender, other, other_member)
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    assert not bf.open_sealed(tender).failed
    db.session.commit()
    payload = json.loads(client.get(f"/bids/{bid.public_id}/receipt?download=1").data)
    assert payload["sha256"] == bid.digest and payload["version"] == 1 and "sealed" not in payload
    assert digest_of(payload["content"]) == payload["sha256"]
    assert payload["content"]["price"] == "300000.00"
    assert payload["content"]["attachments"][0]["sha256"] == hashlib.sha256(b"%PDF plan").hexdigest()
    assert b"300,000.00" in client.get(f"/bids/{bid.public_id}/receipt").data


@pytest.mark.parametrize(
    "price, message",
    [("0", b"above zero"), ("999999999", b"budget ceiling"), ("abc", b"Not a valid decimal")],
)
def test_bad_price_saves_nothing(client, scene, db, price, message):
    tender, org, member = scene
    _login(client, member)
    r = client.post(f"/bids/tender/{tender.id}", data=_form(tender, price=price))
    assert r.status_code == 400 and message in r.data
    assert db.session.scalar(select(func.count()).select_from(Bid)) == 0


def test_incomplete_submission_is_explained(client, scene, db):
    tender, org, member = scene
    _login(client, member)
    data = _form(tender)
    del data["decl_accept_terms"]
    r = client.post(f"/bids/tender/{tender.id}", data=data)
    assert r.status_code == 400 and b"declaration" in r.data
    assert db.session.scalar(select(func.count()).select_from(Bid)) == 0  # the whole step is undone


def test_withdraw_needs_confirmation(client, scene, db):
    tender, org, member = scene
    bid, _ = bf.submitted_bid(tender, org, member)
    db.session.commit()
    _login(client, member)
    client.post(f"/bids/{bid.public_id}/withdraw", data={})
    db.session.refresh(bid)
    assert bid.status == "submitted"
    client.post(f"/bids/{bid.public_id}/withdraw", data={"confirm": "y"})
    db.session.refresh(bid)
    assert bid.status == "withdrawn"


def test_after_deadline_pages_refuse_changes(client, scene, db):
    tender, org, member = scene
    bid, _ = bf.submitted_bid(tender, org, member)
    db.session.commit()
    clock.set_now(tender.bid_deadline + timedelta(seconds=1))
    _login(client, member)
    r = client.post(f"/bids/{bid.public_id}/withdraw", data={"confirm": "y"}, follow_redirects=True)
    assert b"deadline has passed" in r.data
    db.session.refresh(bid)
    assert bid.status == "submitted"


def test_other_organizations_get_404(client, scene, world, db):
    tender, org, member = scene
    bid, _ = bf.submitted_bid(tender, org, member)
    _, other = bf.organization("另一机构")
    db.session.commit()
    for user in (other, world["officer"], world["auditor"], world["admin"], world["evaluator"]):
        _login(client, user)
        for url in (
            f"/bids/{bid.public_id}",
            f"/bids/{bid.public_id}/receipt",
            f"/bids/{bid.public_id}/receipt?download=1",
            f"/bids/{bid.public_id}/attachments/1",
        ):
            assert client.get(url).status_code == 404, (user.email, url)
        assert client.post(f"/bids/{bid.public_id}/withdraw", data={"confirm": "y"}).status_code == 404
        assert client.post(f"/bids/{bid.public_id}/submit").status_code == 404
    db.session.refresh(bid)
    assert bid.status == "submitted"


def test_non_members_cannot_open_the_bid_form(client, scene, world, db):
    tender, _org, _member = scene
    for who in ("officer", "auditor", "evaluator", "org_member"):  # org_member here has no organization
        _login(client, world[who])
        assert client.get(f"/bids/tender/{tender.id}").status_code == 403
        assert client.get("/bids/mine").status_code == 403


def test_ineligible_org_sees_why(client, world, db):
    tender = factories.published(world["officer"], category="childcare", bid_deadline=deadline_in(29))
    org, member = bf.organization("养老机构")
    db.session.commit()
    _login(client, member)
    page = client.get(f"/bids/tender/{tender.id}")
    assert b"category is not among" in page.data and b'name="price"' not in page.data
