"""Issue 20: a withdrawn bid's working copy is the start of the organization's next bid on the tender
(price, answers, declarations and attachments); a sealed submitted version, which nobody can read
back, is said so instead. Nobody else sees any of it."""

from __future__ import annotations

import io

from sqlalchemy import select

from marketplace.tenders.bids import submission
from marketplace.tenders.bids.models import Bid
from tests import bid_factories as bf
from tests.test_bid_pages import _form, _login, scene  # noqa: F401 - the fixture


def _save(client, tender, **overrides):
    data = _form(tender, price="288000.00", submit=False)
    data.update(overrides)
    return client.post(f"/bids/tender/{tender.id}", data=data, content_type="multipart/form-data")


def test_a_withdrawn_draft_starts_the_next_bid(client, scene, world, db):  # noqa: F811
    tender, org, member = scene
    _login(client, member)
    r = _save(client, tender, attachments=[(io.BytesIO(b"%PDF plan v1"), "服务方案.pdf")])
    assert r.status_code == 302
    first = db.session.scalars(select(Bid)).one()
    assert client.post(f"/bids/{first.public_id}/withdraw", data={"confirm": "y"}).status_code == 302
    page = client.get(f"/bids/tender/{tender.id}").get_data(as_text=True)
    assert 'id="reused-bid"' in page and "服务方案.pdf" in page
    assert 'value="288000.00"' in page
    c = tender.technical_criteria[0]
    assert f"关于{c.name}的响应" in page
    # Saving makes a new bid with the same content and the attachment carried over.
    data = _form(tender, price="288000.00", submit=True)
    r = client.post(f"/bids/tender/{tender.id}", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    db.session.expire_all()
    second = db.session.scalar(select(Bid).where(Bid.status != "withdrawn"))
    assert second.id != first.id and second.status == "submitted"
    assert second.submissions[-1].version == 1
    first = db.session.get(Bid, first.id)
    assert [a.filename for a in first.attachments] == ["服务方案.pdf"]  # the withdrawn one keeps its own
    # Another organization never sees it.
    _org2, other = bf.organization("另一机构")
    db.session.commit()
    _login(client, other)
    page = client.get(f"/bids/tender/{tender.id}").get_data(as_text=True)
    assert 'id="reused-bid"' not in page and "288000" not in page and "服务方案.pdf" not in page


def test_a_withdrawn_sealed_submission_cannot_be_read_back_and_says_so(client, scene, db):  # noqa: F811
    tender, org, member = scene
    bid, _receipt = bf.submitted_bid(tender, org, member, price="299000.00")
    submission.withdraw(bid, member)
    db.session.commit()
    _login(client, member)
    page = client.get(f"/bids/tender/{tender.id}").get_data(as_text=True)
    assert 'id="withdrawn-sealed"' in page and 'id="reused-bid"' not in page
    assert "299000" not in page
