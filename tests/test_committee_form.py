"""Issue 20, bug 1: the committee form works in a real browser with any valid subset of the pool.

Every expert checkbox used to carry ``required`` (from DataRequired): a browser then refused the form
unless every expert of the pool was ticked, which the test client never noticed."""

from __future__ import annotations

import re

from marketplace.auth import services as auth_services
from marketplace.tenders.committee.members import committee
from tests.factories import PASSWORD
from tests.test_award_pages import _login, _scene


def test_the_committee_form_has_no_required_checkbox_and_takes_a_subset(client, world, db):
    s = _scene(world, db)
    # A pool larger than the committee: two more experts than the five the tender needs.
    extra = [
        auth_services.create_user(
            email=f"spare{i}@test.org", role="evaluator", password=PASSWORD, name=f"备选{i}"
        )
        for i in range(2)
    ]
    db.session.commit()
    _login(client, world["officer"])
    page = client.get(f"/committee/{s.tender.id}").get_data(as_text=True)
    boxes = re.findall(r"<input[^>]*name=\"members\"[^>]*>", page)
    assert len(boxes) >= 7
    assert not [b for b in boxes if re.search(r"\brequired\b", b)], boxes
    url = f"/committee/{s.tender.id}/members"
    ids = [e.id for e in s.experts]
    # Too few and an even count get a clear message and change nothing.
    r = client.post(url, data={"members": ids[:3], "chair": str(ids[0])})
    assert r.status_code == 400 and "Too few" in r.get_data(as_text=True)
    r = client.post(url, data={"members": ids[:4] + [extra[0].id, extra[1].id], "chair": str(ids[0])})
    assert r.status_code == 400 and "odd number" in r.get_data(as_text=True)
    r = client.post(url, data={"chair": str(ids[0])})
    assert r.status_code == 400 and "Choose the experts who sit on the committee" in r.get_data(as_text=True)
    assert committee(s.tender) == []
    # Five of the seven: formed.
    chosen = [ids[0], ids[2], ids[4], extra[0].id, extra[1].id]
    r = client.post(url, data={"members": chosen, "chair": str(extra[0].id)})
    assert r.status_code == 302
    db.session.expire_all()
    assert {m.user_id for m in committee(s.tender)} == set(chosen)
