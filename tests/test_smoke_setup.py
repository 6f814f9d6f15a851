from marketplace.tenders.models import Tender
from tests import factories


def test_published_tender_roundtrip(world, db):
    t = factories.published(world["officer"])
    db.session.expire_all()
    again = db.session.get(Tender, t.id)
    assert again.status == "open"
    assert again.bid_deadline.tzinfo is not None
    assert again.reference.startswith("110101-2026-")
