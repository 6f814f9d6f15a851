"""Sealed bids are stored only encrypted until the opening ceremony (issue 15, docs/bidding.md).

The raw database rows and the raw upload files hold no submitted price, answer or attachment before
the opening; the ceremony needs the platform's part and k officers' shares; what it decrypts matches
the receipts; a wrong passphrase, a lost share, a tampered ciphertext and a closed window each have
their outcome; keys never appear in plain text; the wrapping key can be rotated.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.auth import opening_keys
from marketplace.auth import services as auth_services
from marketplace.core import keyring, sealing
from marketplace.core.errors import RuleViolation
from marketplace.extensions import db as _db
from marketplace.tenders.bids import digest
from marketplace.tenders.bids.ceremony import keys, verbs
from marketplace.tenders.bids.ceremony.rotation import rotate_wrapping_key
from marketplace.tenders.bids.models import WITHDRAWN, Bid, BidSubmission
from marketplace.tenders.bids.opening import open_bids, opening_time
from marketplace.tenders.bids.submission import lock_tender, save_draft, submit
from marketplace.tenders.publication import publication_problems
from tests import bid_factories as bf
from tests import factories
from tests.conftest import PG_URL
from tests.factories import OPENING_PASSPHRASE, PASSWORD, deadline_in
from tests.test_contract_concurrency import _race

PRICES = [f"{287654.32 - 11111.11 * i:.2f}" for i in range(6)]


def _officer(world, n: int, with_key: bool = True):
    user = auth_services.create_user(
        email=f"opener{n}@test.org", role="officer", password=PASSWORD, agency=world["agency"]
    )
    if with_key:
        opening_keys.set_up(user, OPENING_PASSPHRASE)
    return user


@pytest.fixture
def holders(world, db):
    """Three holders in the buyer's agency: k = 2 of 3 (BID_OPENING_OFFICERS_REQUIRED)."""
    return [world["officer"], _officer(world, 2), _officer(world, 3)]


def _bids(tender, n=3):
    """n complete bids, each with a distinctive price, answer and attachment; returns (bid, receipt,
    answer, attachment bytes, member) per bid."""
    made = []
    for i in range(n):
        org, member = bf.organization(f"加密测试组织{i}")
        answer = f"UNIQUE-ANSWER-{i}-绝密方案"
        payload = f"%PDF ATTACHMENT-CONTENT-{i}-保密附件".encode()
        data = bf.bid_input(tender, price=PRICES[i])
        data["responses"] = {c.id: answer for c in tender.technical_criteria}
        bid = save_draft(tender, org, data, member, [bf.attachment(f"报价{i}.pdf", payload, tender)])
        receipt = submit(bid, member)
        made.append((bid, receipt, answer, payload, member))
    _db.session.flush()
    return made


def _raw_rows() -> str:
    """Every row of every table, as text (what a database dump would show)."""
    parts = []
    for table in _db.metadata.sorted_tables:
        for row in _db.session.execute(table.select()).all():
            parts.append(repr(tuple(row)))
    return "\n".join(parts)


def _raw_files() -> bytes:
    root = Path(current_app.config["UPLOAD_FOLDER"])
    return b"\n".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def _at_opening(tender):
    clock.set_now(opening_time(tender) + timedelta(seconds=1))


def test_before_the_opening_no_row_or_file_holds_a_price_an_answer_or_an_attachment(world, holders, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    made = _bids(tender)
    rows, files = _raw_rows(), _raw_files()
    for i, (_bid, receipt, answer, payload, _member) in enumerate(made):
        assert receipt.digest in rows  # the receipt's digest is kept; it gives nothing away (a nonce)
        for secret in (PRICES[i], PRICES[i].replace(".", ""), answer, f"报价{i}.pdf"):
            assert secret not in rows
        assert payload not in files and b"ATTACHMENT-CONTENT" not in files
        assert answer.encode() not in files
    # Nor after the job began the ceremony, nor after one share (k = 2): the platform alone cannot open.
    _at_opening(tender)
    verbs.open_if_due(tender)
    assert verbs.contribute(tender, holders[0], OPENING_PASSPHRASE) is None
    rows = _raw_rows()
    assert all(p not in rows for p in PRICES) and tender.status == "open"


def test_the_ceremony_decrypts_what_the_receipts_say(world, holders, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    key = keys.key_of(tender)
    assert (key.threshold, len(key.shares)) == (2, 3)
    made = _bids(tender)
    _at_opening(tender)
    assert verbs.contribute(tender, holders[2], OPENING_PASSPHRASE) is None  # the platform + 1 of 2
    opening = verbs.contribute(tender, holders[1], OPENING_PASSPHRASE)
    assert opening is not None and tender.status == "opened" and opening.bid_count == 3
    rows = {r["bid_id"]: r for r in opening.record}
    for i, (bid, receipt, answer, payload, _member) in enumerate(made):
        assert receipt.content is not None and digest.digest_of(receipt.content) == receipt.digest
        assert f"{receipt.price:.2f}" == PRICES[i] == rows[bid.id]["price"] == f"{bid.price:.2f}"
        assert rows[bid.id]["digest"] == receipt.digest
        assert rows[bid.id]["sealed_sha256"] == hashlib.sha256(sealing.unb64(receipt.sealed)).hexdigest()
        assert set(bid.responses.values()) == {answer}
        (att,) = bid.opened_attachments
        assert att.filename == f"报价{i}.pdf" and att.sha256 == hashlib.sha256(payload).hexdigest()
        assert (Path(current_app.config["UPLOAD_FOLDER"]) / att.storage_key).read_bytes() == payload
        assert receipt.content["attachments"] == [
            {"filename": att.filename, "size": len(payload), "sha256": att.sha256}
        ]
        assert len(receipt.content["nonce"]) == 32
    assert all(s.contribution is None for s in key.shares) and key.completed_at is not None
    actions = set(_db.session.scalars(select(AuditEvent.action).where(AuditEvent.tender_id == tender.id)))
    assert {"tender.opening_key", "tender.ceremony_begin", "tender.opening_share"} <= actions
    assert {"tender.ceremony_complete", "tender.open_bids"} <= actions


def test_an_earlier_version_decrypts_to_its_own_receipt(world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    made = _bids(tender)
    bid, first, _answer, _payload, member = made[0]
    assert bid.price is None and bid.responses == {} and first.content is None  # the working copy is gone
    second = submit(
        save_draft(tender, bid.organization, bf.bid_input(tender, price="250000.00"), member), member
    )
    _at_opening(tender)
    bf.open_sealed(tender)
    assert digest.digest_of(first.content) == first.digest and f"{first.price:.2f}" == PRICES[0]
    assert digest.digest_of(second.content) == second.digest and bid.price == 250000
    assert bid.opened_attachments == []  # version 2 has no attachment: version 1's is not the bid's


def test_a_wrong_passphrase_and_a_replaced_key_are_refused_and_change_nothing(world, holders, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    _bids(tender)
    _at_opening(tender)
    with pytest.raises(RuleViolation, match="not the passphrase"):
        verbs.contribute(tender, holders[0], "a wrong passphrase!")
    opening_keys.set_up(holders[1], "a brand new passphrase")  # lost the passphrase: a new key
    with pytest.raises(RuleViolation, match="replaced"):
        verbs.contribute(tender, holders[1], "a brand new passphrase")
    with pytest.raises(RuleViolation, match="no share"):
        verbs.contribute(tender, world["other_officer"], OPENING_PASSPHRASE)
    assert all(s.contributed_at is None for s in keys.key_of(tender).shares)
    # One lost share of three is survivable (2 of 3): the two others open the bids.
    verbs.contribute(tender, holders[0], OPENING_PASSPHRASE)
    assert verbs.contribute(tender, holders[2], OPENING_PASSPHRASE).bid_count == 3


def test_without_enough_shares_in_the_window_the_bids_count_as_withdrawn(world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    made = _bids(tender)
    _at_opening(tender)
    assert verbs.open_if_due(tender) is True and tender.status == "open"  # the ceremony began
    assert verbs.open_if_due(tender) is False
    clock.set_now(verbs.window_end(tender) - timedelta(seconds=1))
    assert verbs.open_if_due(tender) is False
    clock.set_now(verbs.window_end(tender))
    with pytest.raises(RuleViolation, match="window has closed"):
        verbs.contribute(tender, world["officer"], OPENING_PASSPHRASE)
    assert verbs.open_if_due(tender) is True
    assert tender.status == "failed" and "decryption window" in tender.failure_reason
    record = open_bids(tender)  # the record made when the window closed
    assert record.bid_count == 0 and record.record == [] and record.failed
    assert [u["outcome"] for u in record.undecrypted] == ["withdrawn"] * 3
    assert {u["problem"] for u in record.undecrypted} == {"no_key"}
    assert all(b.status == WITHDRAWN for b, *_ in made)
    assert all(r.content is None for _b, r, *_ in made)  # never decrypted


def test_a_tampered_version_or_attachment_counts_as_withdrawn_and_the_rest_open(world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    made = _bids(tender, 6)
    # An altered ciphertext (one byte), and an attachment file altered on disk.
    altered = bytearray(sealing.unb64(made[0][1].sealed))
    altered[-5] ^= 1
    made[0][1].sealed = sealing.b64(bytes(altered))
    (att,) = made[1][0].kept_attachments
    path = Path(current_app.config["UPLOAD_FOLDER"]) / att.storage_key
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    # A version moved to another bid does not decrypt there either (its context is bound in).
    made[2][1].sealed = made[3][1].sealed
    _db.session.flush()
    _at_opening(tender)
    opening = bf.open_sealed(tender)
    problems = {u["bid_id"]: u["problem"] for u in opening.undecrypted}
    assert problems == {made[0][0].id: "tampered", made[1][0].id: "tampered", made[2][0].id: "tampered"}
    assert {u["outcome"] for u in opening.undecrypted} == {"withdrawn"}
    assert [r["bid_id"] for r in opening.record] == [m[0].id for m in made[3:]] and not opening.failed
    assert made[0][0].status == WITHDRAWN and made[0][1].content is None


def test_too_few_bids_stay_sealed_without_any_share(world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    (bid, receipt, *_rest) = _bids(tender, 1)[0]
    _at_opening(tender)
    assert verbs.open_if_due(tender) is True
    assert tender.status == "failed" and receipt.content is None and bid.price is None


def test_publication_needs_an_officer_with_an_opening_key(world, db):
    agency = auth_services.create_agency(name="无密钥单位", district_code="110101")
    officer = auth_services.create_user(
        email="nokey@test.org", role="officer", password=PASSWORD, agency=agency
    )
    draft = factories.draft(officer, bid_deadline=deadline_in(29))
    assert any("opening key" in p for p in publication_problems(draft))
    with pytest.raises(RuleViolation, match="opening key"):
        factories.publish(draft, officer, confirm_not_excluded=True)
    opening_keys.set_up(officer, OPENING_PASSPHRASE)
    factories.publish(draft, officer, confirm_not_excluded=True)
    assert draft.status == "open" and keys.key_of(draft).threshold == 1


def test_no_key_material_in_rows_files_or_audit(world, holders, db, monkeypatch):
    made_keys = []
    original = sealing.new_key_pair

    def recording():
        pair = original()
        made_keys.append(pair[0])
        return pair

    monkeypatch.setattr(sealing, "new_key_pair", recording)
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    tender_private = made_keys[-1]
    _bids(tender)
    _at_opening(tender)
    verbs.contribute(tender, holders[0], OPENING_PASSPHRASE)  # a contribution pending
    rows, files = _raw_rows(), _raw_files()
    key = keys.key_of(tender)
    platform = keyring.unwrap(key.platform_part)
    pending = keyring.unwrap(key.shares[0].contribution)
    for secret in (tender_private, platform, pending):
        for form in (secret.hex(), sealing.b64(secret), repr(secret)):
            assert form not in rows
        assert secret not in files
    assert OPENING_PASSPHRASE not in rows
    details = " ".join(repr(e.changes) for e in _db.session.scalars(select(AuditEvent)))
    assert tender_private.hex() not in details and "platform_part" not in details


def test_the_wrapping_key_rotates(world, app, db):
    old = keyring.configured_keys(app.config)[0]
    new = keyring.new_key()
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    _bids(tender)
    key = keys.key_of(tender)
    before = key.platform_part
    monkey = app.config.get("BID_KEY_WRAPPING_KEYS")
    try:
        app.config["BID_KEY_WRAPPING_KEYS"] = [new]  # the old key dropped too early: nothing opens
        with pytest.raises(keyring.KeyringError):
            keyring.unwrap(before)
        app.config["BID_KEY_WRAPPING_KEYS"] = [new, old]
        result = rotate_wrapping_key()
        assert result.platform_parts >= 1 and key.platform_part != before
        app.config["BID_KEY_WRAPPING_KEYS"] = [new]  # now the old key can go
        _at_opening(tender)
        assert bf.open_sealed(tender).bid_count == 3
    finally:
        app.config["BID_KEY_WRAPPING_KEYS"] = monkey


def test_a_missing_wrapping_key_stops_the_ceremony_loudly(world, app, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    _bids(tender)
    _at_opening(tender)
    saved = app.config.get("BID_KEY_WRAPPING_KEYS")
    try:
        app.config["BID_KEY_WRAPPING_KEYS"] = [keyring.new_key()]
        with pytest.raises(RuleViolation, match="wrapping key"):
            verbs.begin(lock_tender(tender))
    finally:
        app.config["BID_KEY_WRAPPING_KEYS"] = saved
    assert keys.key_of(tender).ceremony_started_at is None


def test_production_needs_wrapping_keys(tmp_path, monkeypatch):
    from marketplace.config import ConfigError, load_config

    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("AUDIT_CHAIN_KEY", "k" * 32)
    monkeypatch.delenv("BID_KEY_WRAPPING_KEYS", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db/marketplace")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("MAIL_SUPPRESS_SEND", "1")
    with pytest.raises(ConfigError, match="BID_KEY_WRAPPING_KEYS"):
        load_config(str(tmp_path), {"ENV": "production"})
    monkeypatch.setenv("BID_KEY_WRAPPING_KEYS", "not-a-key")
    with pytest.raises(ConfigError, match="not a Fernet key"):
        load_config(str(tmp_path), {"ENV": "production"})
    monkeypatch.setenv("BID_KEY_WRAPPING_KEYS", keyring.new_key())
    assert load_config(str(tmp_path), {"ENV": "production"})["BID_KEY_WRAPPING_KEYS"]


def test_bid_rows_say_nothing_of_the_sealed_content(world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    bid, receipt, *_ = _bids(tender, 1)[0]
    assert _db.session.get(Bid, bid.id).ready_sealed is None
    row = _db.session.get(BidSubmission, receipt.id)
    assert row.price is None and row.content is None and row.sealed and row.sealed_sha256
    assert all(a.filename == "" and a.working_key is None for a in bid.kept_attachments)


@pytest.mark.skipif(not PG_URL, reason="concurrency tests need PostgreSQL: set TEST_DATABASE_URL")
def test_two_holders_contributing_at_once_open_the_bids_once(app, committed):
    """k = 1 of 2: both holders contribute at the same moment; one completes the ceremony, the other is
    told that the bids are already open; one opening record, every bid decrypted once."""
    world = factories.world()
    second = _officer(world, 2)
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    made = _bids(tender)
    tender_id, holders_ids = tender.id, (world["officer"].id, second.id)
    _db.session.commit()
    clock.set_now(opening_time(tender) + timedelta(seconds=1))

    def contribute(user_id):
        def prepare():
            from marketplace.auth.models import User
            from marketplace.tenders.models import Tender

            tender, user = _db.session.get(Tender, tender_id), _db.session.get(User, user_id)
            return lambda: verbs.contribute(tender, user, OPENING_PASSPHRASE)

        return prepare

    outcomes = _race(app, *(contribute(i) for i in holders_ids))
    assert sorted(outcomes) == sorted(["won", "The bids of this tender are already opened."]), outcomes
    from marketplace.tenders.bids.models import BidOpening

    (opening,) = _db.session.scalars(select(BidOpening).where(BidOpening.tender_id == tender_id)).all()
    assert opening.bid_count == len(made) and {r["price"] for r in opening.record} == set(PRICES[:3])


def test_too_few_bids_stay_sealed_even_when_the_job_comes_after_the_window(world, db):
    """The scheduler was down past the window: a tender with too few bids still fails as sealed (O87
    41), withdrawing nothing; the window only concerns bids that must be decrypted."""
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    (bid, receipt, *_rest) = _bids(tender, 2)[0]
    clock.set_now(verbs.window_end(tender) + timedelta(hours=3))
    assert verbs.open_if_due(tender) is True
    record = open_bids(tender)
    assert tender.status == "failed" and "decryption window" not in tender.failure_reason
    assert record.undecrypted is None and bid.status == "submitted" and receipt.content is None
