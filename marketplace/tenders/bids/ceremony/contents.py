"""A sealed bid's content: encrypted when it is saved and submitted, decrypted at the ceremony.

- An attachment is encrypted as it is uploaded, under a key of its own; the draft keeps that key
  wrapped by the platform's key, so the organization can read its working copy.
- Saving a complete draft seals its content (price, responses, declarations, the attachments' names,
  digests and keys) to the tender's public key: the ready version. Submitting only moves it into the
  new version and erases the working copy (the draft's fields, the attachments' keys and names).
- The ceremony opens every version with the tender's private key, checks it against the receipt's
  digest and writes the plain content back, so that everything after the opening reads bids as before.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import update

from marketplace import clock
from marketplace.core import documents, keyring, sealing
from marketplace.core.documents import StoredFile
from marketplace.extensions import db
from marketplace.tenders.bids.digest import digest_of
from marketplace.tenders.bids.models import Bid, BidAttachment, BidSubmission
from marketplace.tenders.models import Tender


def is_sealed_tender(tender: Tender) -> bool:
    return bool(tender.bid_public_key)


def version_context(tender_id: int, bid_id: int, version: int) -> str:
    return f"marketplace/bid/{tender_id}/{bid_id}/v{version}"


def attachment_context(tender_id: int, storage_key: str) -> str:
    return f"marketplace/bid-attachment/{tender_id}/{storage_key}"


# --- saving ----------------------------------------------------------------------------------------


def store_attachment(tender: Tender, file_storage, allowed: set[str]) -> StoredFile:
    """Check and store an upload for a sealed tender's bid, encrypted: the upload folder never holds
    the plain file."""
    filename, content_type, data = documents.read_upload(file_storage, allowed)
    storage_key = f"sealed/{secrets.token_hex(16)}"
    key, blob = sealing.encrypt_file(data, attachment_context(tender.id, storage_key))
    documents.write_bytes(blob, storage_key)
    return StoredFile(
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=sealing.sha256_hex(blob),
        storage_key=storage_key,
        plain_sha256=sealing.sha256_hex(data),
        working_key=keyring.wrap(key),
    )


def read_working_attachment(bid: Bid, attachment: BidAttachment) -> bytes | None:
    """The plain bytes of a working-copy attachment (None when sealed or its file is missing)."""
    if attachment.working_key is None:
        return None
    path = documents.path_for(attachment.storage_key)
    if not path.is_file():
        return None
    key = keyring.unwrap(attachment.working_key)
    return sealing.decrypt_file(
        key, path.read_bytes(), attachment_context(bid.tender_id, attachment.storage_key)
    )


def _payload(bid: Bid, content: dict) -> dict:
    return {
        "content": content,
        "price": content["price"],
        "responses": dict(bid.responses or {}),
        "declarations": sorted(bid.declarations or []),
        "attachments": [
            {
                "storage_key": a.storage_key,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.plain_sha256,
                "cipher_sha256": a.sha256,
                "key": sealing.b64(keyring.unwrap(a.working_key)),
            }
            for a in bid.attachments
        ],
    }


def seal_ready(bid: Bid, content: dict) -> str:
    """The ready content sealed to the tender's key for the bid's next version (base64)."""
    tender = bid.tender
    blob = sealing.seal_json(
        _payload(bid, content),
        sealing.unb64(tender.bid_public_key),
        version_context(tender.id, bid.id, bid.version + 1),
    )
    return sealing.b64(blob)


def sealed_digest(sealed: str) -> str:
    """The SHA-256 of a sealed version's ciphertext (the opening record shows it)."""
    return sealing.sha256_hex(sealing.unb64(sealed))


def erase_working_copy(bid: Bid, version: int, attachments: bool) -> None:
    """After a submission: the sealed version is all that remains (docs/bidding.md)."""
    bid.price = None
    bid.responses = {}
    bid.declarations = []
    bid.ready_content = bid.ready_digest = bid.ready_sealed = None
    if attachments:  # one statement, only when the version has attachments
        db.session.execute(
            update(BidAttachment)
            .where(
                BidAttachment.bid_id == bid.id,
                BidAttachment.version.is_(None),
                BidAttachment.removed_at.is_(None),
            )
            .values(version=version, working_key=None, plain_sha256=None, filename="")
            .execution_options(synchronize_session=False)
        )
        db.session.expire(bid, ["attachments", "kept_attachments"])


# --- opening ---------------------------------------------------------------------------------------


@dataclass
class Failure:
    """Why a bid could not be decrypted: ``tampered`` (a version or an attachment does not
    authenticate), ``digest`` (it decrypts to other content than its receipt), ``missing`` (an
    attachment's file is gone)."""

    problem: str
    version: int


def _open_version(tender: Tender, bid: Bid, sub: BidSubmission, private: bytes) -> dict:
    if not sub.sealed:
        raise _Undecryptable("missing", sub.version)
    try:
        blob = sealing.unb64(sub.sealed)
        payload = sealing.unseal_json(blob, private, version_context(tender.id, bid.id, sub.version))
    except sealing.SealError as exc:
        raise _Undecryptable("tampered", sub.version) from exc
    content = payload.get("content")
    if not isinstance(content, dict) or digest_of(content) != sub.digest:
        raise _Undecryptable("digest", sub.version)
    try:
        Decimal(payload["price"])
        well_formed = isinstance(payload["responses"], dict) and isinstance(payload["declarations"], list)
        well_formed = well_formed and all(isinstance(a, dict) for a in payload["attachments"])
    except (InvalidOperation, KeyError, TypeError, ValueError):
        well_formed = False
    if not well_formed:
        raise _Undecryptable("tampered", sub.version)
    return payload


class _Undecryptable(Exception):
    def __init__(self, problem: str, version: int):
        super().__init__(problem)
        self.failure = Failure(problem, version)


def _open_attachment(tender: Tender, row: BidAttachment, entry: dict, version: int) -> bytes:
    path = documents.path_for(row.storage_key)
    if not path.is_file():
        raise _Undecryptable("missing", version)
    blob = path.read_bytes()
    try:
        data = sealing.decrypt_file(
            sealing.unb64(entry["key"]), blob, attachment_context(tender.id, row.storage_key)
        )
    except (sealing.SealError, KeyError, TypeError) as exc:
        raise _Undecryptable("tampered", version) from exc
    if sealing.sha256_hex(data) != entry.get("sha256"):
        raise _Undecryptable("digest", version)
    return data


def _decrypt_all(tender: Tender, bid: Bid, private: bytes) -> list[tuple[BidSubmission, dict, dict]]:
    """Every version's payload and its attachments' plain bytes; raises _Undecryptable."""
    rows = {
        a.storage_key: a
        for a in db.session.scalars(
            db.select(BidAttachment).where(BidAttachment.bid_id == bid.id, BidAttachment.version.is_not(None))
        )
    }
    opened = []
    for sub in bid.submissions:
        payload = _open_version(tender, bid, sub, private)
        files = {}
        for entry in payload.get("attachments", []):
            row = rows.get(entry.get("storage_key"))
            if row is None:
                raise _Undecryptable("missing", sub.version)
            files[row.storage_key] = _open_attachment(tender, row, entry, sub.version)
        opened.append((sub, payload, files))
    return opened


def _write_back(bid: Bid, opened: list[tuple[BidSubmission, dict, dict]]) -> None:
    """The plain content into the columns the rest of the product reads; the working copy discarded."""
    entries = {}
    for sub, payload, _files in opened:
        sub.content = payload["content"]
        sub.price = Decimal(payload["price"])
        for entry in payload.get("attachments", []):
            entries[entry["storage_key"]] = entry
    latest = opened[-1][1]
    bid.price = Decimal(latest["price"])
    bid.responses = dict(latest.get("responses") or {})
    bid.declarations = list(latest.get("declarations") or [])
    bid.ready_content = bid.ready_digest = bid.ready_sealed = None
    now = clock.now()
    for row in db.session.scalars(db.select(BidAttachment).where(BidAttachment.bid_id == bid.id)):
        if row.version is None:  # unsubmitted changes: never part of the bid
            row.removed_at = row.removed_at or now
            row.working_key = None
            continue
        entry = entries.get(row.storage_key)
        data = next((files[row.storage_key] for _s, _p, files in opened if row.storage_key in files), None)
        if entry is None or data is None:
            continue
        row.storage_key = documents.write_bytes(data)
        row.sha256 = entry["sha256"]
        row.filename = entry["filename"]
        row.content_type = entry["content_type"]
        row.size = len(data)
        row.plain_sha256 = None
        row.working_key = None
    db.session.expire(bid, ["attachments", "kept_attachments"])


def decrypt_bid(tender: Tender, bid: Bid, private: bytes) -> Failure | None:
    """Decrypt every submitted version of ``bid`` and write it back; the failure, if it does not
    decrypt (nothing written then)."""
    try:
        opened = _decrypt_all(tender, bid, private)
    except _Undecryptable as exc:
        return exc.failure
    if not opened:
        return Failure("missing", bid.version)
    _write_back(bid, opened)
    return None
