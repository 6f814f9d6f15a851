"""The officers' opening-key page, the tender page's warning and the opening ceremony page."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.auth.opening_keys import OpeningKey, opening_key_of
from marketplace.tenders.bids.ceremony import keys
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.bids.opening import opening_time
from tests import bid_factories as bf
from tests import factories
from tests.factories import OPENING_PASSPHRASE, deadline_in


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


def _form(tender):
    data = {"price": "300000.00", "submit_bid": "1"}
    for c in tender.technical_criteria:
        data[f"response_{c.id}"] = f"关于{c.name}的响应"
    for key in ("no_major_violations", "independent_bid", "accept_terms", "no_onward_subcontracting"):
        data[f"decl_{key}"] = "y"
    return data


@pytest.fixture
def scene(world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    bidders = [bf.organization(f"典礼组织{i}") for i in range(3)]
    db.session.commit()
    return tender, bidders


def test_an_officer_sets_up_and_changes_an_opening_key(client, world, db):
    officer = world["officer"]
    db.session.delete(opening_key_of(officer.id))
    db.session.commit()
    _login(client, officer)
    assert client.get("/account/opening-key").status_code == 200
    short = {
        "setup-passphrase": "short",
        "setup-confirm": "short",
        "setup-understood": "y",
        "setup-submit": "1",
    }
    page = client.post("/account/opening-key", data=short)
    assert page.status_code == 400 and "at least 12 characters" in page.get_data(as_text=True)
    differ = dict(short, **{"setup-passphrase": "a long passphrase one", "setup-confirm": "another one!!"})
    assert client.post("/account/opening-key", data=differ).status_code == 400
    good = dict(
        short, **{"setup-passphrase": "a long passphrase one", "setup-confirm": "a long passphrase one"}
    )
    assert client.post("/account/opening-key", data=good).status_code == 302
    key = db.session.scalar(select(OpeningKey).where(OpeningKey.user_id == officer.id))
    assert key is not None and "a long passphrase one" not in key.locked_private_key
    wrong = {
        "change-current_passphrase": "not the passphrase",
        "change-new_passphrase": "a longer new passphrase",
        "change-confirm": "a longer new passphrase",
        "change-submit": "1",
    }
    page = client.post("/account/opening-key", data=wrong)
    assert page.status_code == 400 and "not the passphrase" in page.get_data(as_text=True)
    right = dict(wrong, **{"change-current_passphrase": "a long passphrase one"})
    assert client.post("/account/opening-key", data=right).status_code == 302


def test_only_officers_have_an_opening_key_page(client, world):
    _login(client, world["org_member"])
    assert client.get("/account/opening-key").status_code == 403
    _login(client, world["auditor"])
    assert client.get("/account/opening-key").status_code == 403


def test_the_tender_page_warns_until_enough_holders_confirmed(client, scene, world, db):
    tender, _bidders = scene
    _login(client, world["officer"])
    page = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert "Opening key at risk" in page
    url = f"/bids/opening/{tender.id}/ceremony"
    wrong = client.post(f"{url}/confirm", data={"share-passphrase": "wrong wrong wrong"})
    assert wrong.status_code == 400 and "not the passphrase" in wrong.get_data(as_text=True)
    assert client.post(f"{url}/confirm", data={"share-passphrase": OPENING_PASSPHRASE}).status_code == 302
    assert keys.share_of(keys.key_of(tender), world["officer"]).confirmed_at is not None
    assert "Opening key at risk" not in client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    _login(client, world["org_member"])  # bidders and the public never see the officers' warning
    assert "Opening key at risk" not in client.get(f"/tenders/{tender.id}").get_data(as_text=True)


def test_the_ceremony_page_and_who_sees_it(client, scene, world, db):
    tender, bidders = scene
    for _org, member in bidders:
        _login(client, member)
        data = _form(tender)
        data["attachments"] = (io.BytesIO(b"%PDF secret plan"), "plan.pdf")
        assert client.post(f"/bids/tender/{tender.id}", data=data).status_code == 302
    url = f"/bids/opening/{tender.id}/ceremony"
    _, outsider = bf.organization("旁观组织")
    db.session.commit()
    for user, code in (
        (world["officer"], 200),
        (world["auditor"], 200),
        (bidders[0][1], 200),
        (outsider, 404),
        (world["other_officer"], 404),
    ):
        _login(client, user)
        assert client.get(url).status_code == code, user.email
    client.post("/logout")
    with client.session_transaction() as sess:
        sess.clear()
    assert client.get(url).status_code in (302, 401)
    # The bidder cannot contribute (holds no share); at the opening time the officer can.
    _login(client, bidders[0][1])
    assert client.post(f"{url}/contribute", data={"share-passphrase": "x" * 20}).status_code == 404
    _login(client, world["officer"])
    early = client.post(f"{url}/contribute", data={"share-passphrase": OPENING_PASSPHRASE})
    assert early.status_code == 400 and "starts at the opening time" in early.get_data(as_text=True)
    clock.set_now(opening_time(tender) + timedelta(seconds=5))
    page = client.get(url).get_data(as_text=True)
    assert "Contribute your share" in page and "countdown" in page
    wrong = client.post(f"{url}/contribute", data={"share-passphrase": "wrong wrong wrong"})
    assert wrong.status_code == 400 and "not the passphrase" in wrong.get_data(as_text=True)
    assert client.post(f"{url}/contribute", data={"share-passphrase": OPENING_PASSPHRASE}).status_code == 302
    db.session.expire_all()
    assert tender.status == "opened"
    record = client.get(f"/bids/opening/{tender.id}").get_data(as_text=True)
    assert "300,000.00" in record and "ciphertext" in record
    assert "Completed" in client.get(url).get_data(as_text=True)
    # The opened bid's attachment is the decrypted file.
    bid = db.session.get(Bid, bf.open_sealed(tender).record[0]["bid_id"])
    detail = client.get(f"/bids/{bid.public_id}").get_data(as_text=True)
    assert "plan.pdf" in detail


def test_a_submitted_sealed_bid_shows_no_content_to_its_own_bidder(client, scene, world, db):
    tender, bidders = scene
    _org, member = bidders[0]
    _login(client, member)
    assert client.post(f"/bids/tender/{tender.id}", data=_form(tender)).status_code == 302
    page = client.get(f"/bids/tender/{tender.id}").get_data(as_text=True)
    assert "300000.00" not in page and "关于" not in page
    assert "cannot be read back" in page
    receipt = client.get(f"/bids/{_own_bid_public_id(db, member)}/receipt").get_data(as_text=True)
    assert "sealed until the opening" in receipt


def _own_bid_public_id(db, member):
    return db.session.scalar(select(Bid.public_id).where(Bid.created_by_id == member.id))
