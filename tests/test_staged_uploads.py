"""Issue 20: uploads survive a form shown again with errors (core/staging.py). A file that passed its
checks is stored and carried back as a signed token ("already uploaded"); a later successful submit
adopts it; an unadopted one is swept with the orphans; a token is bound to its owner and form."""

from __future__ import annotations

import hashlib
import io
import os
import re
from datetime import timedelta

from sqlalchemy import select

from marketplace import clock
from marketplace.core import orphans
from marketplace.core.documents import path_for
from marketplace.orgs.models import Organization
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.models import Tender
from tests.test_bid_pages import _form as bid_form
from tests.test_bid_pages import (
    _login,
    scene,  # noqa: F401 - the fixture
)
from tests.test_orgs import form_data as registration_data
from tests.test_tender_pages import form_data as tender_data

PAYLOAD = b"%PDF-1.4 the tender's terms of reference"


def _tokens(page: str, field: str) -> list[str]:
    return re.findall(rf'name="staged-{field}" value="([^"]+)"', page)


def test_tender_documents_survive_a_validation_error_and_are_adopted(client, login_as, db):
    login_as("officer")
    data = tender_data(title="")  # a missing title: the page is shown again
    data["documents"] = [(io.BytesIO(PAYLOAD), "招标文件.pdf"), (io.BytesIO(b"MZ..."), "setup.exe")]
    r = client.post("/tenders/new", data=data, content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "Already uploaded: 招标文件.pdf" in page
    assert "File type .exe is not accepted" in page  # the refused file is said so, not staged
    tokens = _tokens(page, "documents")
    assert len(tokens) == 1
    assert db.session.scalar(select(Tender)) is None
    # The corrected submission carries the token back, without choosing the file again.
    r = client.post("/tenders/new", data={**tender_data(), "staged-documents": tokens})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    tender = db.session.scalars(select(Tender)).one()
    (doc,) = tender.documents
    assert doc.filename == "招标文件.pdf" and doc.sha256 == hashlib.sha256(PAYLOAD).hexdigest()


def test_an_unticked_or_forged_token_is_not_adopted(client, login_as, world, db):
    login_as("officer")
    data = tender_data(title="")
    data["documents"] = [(io.BytesIO(PAYLOAD), "招标文件.pdf")]
    (token,) = _tokens(
        client.post("/tenders/new", data=data, content_type="multipart/form-data").get_data(as_text=True),
        "documents",
    )
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    # Another user (another owner) cannot adopt it, nor can a changed token.
    login_as("other_officer")
    r = client.post(
        "/tenders/new", data={**tender_data(title="他人的项目"), "staged-documents": [token, forged]}
    )
    assert r.status_code == 302
    assert db.session.scalars(select(Tender)).one().documents == []
    # Unticked (not sent back): the owner's next submission has no document.
    login_as("officer")
    assert client.post("/tenders/new", data=tender_data(title="不带文件")).status_code == 302
    tender = db.session.scalar(select(Tender).where(Tender.title == "不带文件"))
    assert tender.documents == []


def test_an_unadopted_staged_file_is_swept_with_the_orphans(app, client, login_as, db):
    login_as("officer")
    payload = b"%PDF-1.4 never adopted " + os.urandom(8).hex().encode()
    data = tender_data(title="")
    data["documents"] = [(io.BytesIO(payload), "草稿.pdf")]
    client.post("/tenders/new", data=data, content_type="multipart/form-data")
    digest = hashlib.sha256(payload).hexdigest()
    path = path_for(f"{digest[:2]}/{digest}")
    assert path.is_file()
    old = (clock.now() - timedelta(days=3)).timestamp()
    os.utime(path, (old, old))
    result = orphans.sweep_orphans(clock.now(), hours=24)
    assert not path.exists() and result["changed"] >= 1


def test_the_registration_keeps_its_certificate_across_errors(client, world, db):
    data = registration_data(founded_on="2099-01-01")
    r = client.post("/orgs/register", data=data, content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "cannot be in the future" in page
    assert "Already uploaded: 证书.pdf" in page
    tokens = _tokens(page, "registration_certificate")
    assert len(tokens) == 1
    fixed = registration_data(registration_certificate=None)
    fixed["staged-registration_certificate"] = tokens
    r = client.post("/orgs/register", data=fixed, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    org = db.session.scalars(select(Organization)).one()
    assert [d.kind for d in org.documents] == ["registration_certificate"]
    # Without a certificate, kept or new, it is asked for.
    r = client.post(
        "/orgs/register",
        data=registration_data(registration_certificate=None, account_email="b@sunshine.cn", uscc=None),
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "Upload the registration certificate" in r.get_data(as_text=True)


def test_bid_attachments_survive_an_incomplete_submission(client, scene, db):  # noqa: F811
    tender, org, member = scene
    _login(client, member)
    data = bid_form(tender)
    del data["decl_accept_terms"]  # incomplete: the submission is refused
    data["attachments"] = [(io.BytesIO(b"%PDF plan"), "服务方案.pdf")]
    r = client.post(f"/bids/tender/{tender.id}", data=data, content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "Already uploaded: 服务方案.pdf" in page
    assert db.session.scalar(select(Bid)) is None
    tokens = _tokens(page, "attachments")
    r = client.post(f"/bids/tender/{tender.id}", data={**bid_form(tender), "staged-attachments": tokens})
    assert r.status_code == 302
    bid = db.session.scalars(select(Bid)).one()
    assert bid.status == "submitted" and bid.sealed_attachment_count == 1
    # A token of this tender's form is not accepted by another tender's bid form (its file is
    # encrypted for this tender).
    from marketplace.core import staging

    with client.application.test_request_context(method="POST", data={"staged-x": tokens}):
        assert staging.read_token(tokens[0], "bid-attachments:999999") is None
