"""Published heads of the audit chain (docs/audit.md, "Published heads").

The ``publish-audit-head`` job records the main chain's head (seq, hash, time) in the append-only
``audit_published_heads`` table, shown on the public transparency pages (/open/audit-heads), and
writes it to a signed file, ``AUDIT_HEADS_DIR/YYYY-MM-DD.json`` (Ed25519; the public key is on the
page and in the file). Whoever deletes the newest events, or all of them, and moves the head back
cannot take back what was published: ``flask audit verify`` checks that every published head, in the
table and in the files, is still in the chain. Copies of the files kept elsewhere (mailed to the
auditors, archived) make the check independent of this server.

Only the main chain is published: the sealed ledgers' heads would tell when bids came in.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from sqlalchemy import select

from marketplace.audit import chain, hashing
from marketplace.audit.models import AuditEvent, AuditPublishedHead
from marketplace.core.timeutil import local_date
from marketplace.extensions import db

STATEMENT = "marketplace audit chain head"
_events = AuditEvent.__table__


def statement(seq: int, hash_: str, published_at: datetime) -> bytes:
    """The bytes that are signed: what the head was, and when it was published."""
    content = {
        "statement": STATEMENT,
        "seq": seq,
        "hash": hash_,
        "published_at": hashing.utc_timestamp(published_at),
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")


def public_key_b64() -> str:
    public = hashing.signing_key(current_app.config).public_key()
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def signature_ok(public_key: str, signature: str, seq: int, hash_: str, published_at: datetime) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), statement(seq, hash_, published_at))
    except (InvalidSignature, ValueError):
        return False
    return True


def heads_dir() -> Path:
    return Path(current_app.config["AUDIT_HEADS_DIR"])


def newest() -> AuditPublishedHead | None:
    return db.session.scalars(
        select(AuditPublishedHead).order_by(AuditPublishedHead.seq.desc()).limit(1)
    ).first()


def publish(now: datetime) -> dict:
    """Publish the main chain's head if it moved since the last publication (the job's run)."""
    head = chain.read_head()
    if head is None:
        return {"changed": 0}
    last = newest()
    if last is not None and last.seq >= head["seq"]:
        return {"changed": 0}
    signature = hashing.signing_key(current_app.config).sign(statement(head["seq"], head["hash"], now))
    published = AuditPublishedHead(
        published_at=now,
        seq=head["seq"],
        hash=head["hash"],
        signature=base64.b64encode(signature).decode("ascii"),
        public_key=public_key_b64(),
    )
    db.session.add(published)
    db.session.flush()
    write_file(published)
    return {"changed": 1, "seq": head["seq"]}


def _file_content(p: AuditPublishedHead) -> dict:
    return {
        "statement": STATEMENT,
        "seq": p.seq,
        "hash": p.hash,
        "published_at": hashing.utc_timestamp(p.published_at),
        "signature": p.signature,
        "public_key": p.public_key,
        "algorithm": "Ed25519 over the canonical JSON of statement, seq, hash, published_at",
    }


def write_file(p: AuditPublishedHead) -> Path:
    """``YYYY-MM-DD.json`` (local date): the day's newest publication (a later head extends it)."""
    folder = heads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{local_date(p.published_at).isoformat()}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(_file_content(p), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


# --- verifying ------------------------------------------------------------------------------------


@dataclass
class PublishedReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _from_files(folder: Path, report: PublishedReport) -> list[tuple[str, Mapping]]:
    found = []
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["published_at"] = datetime.fromisoformat(data["published_at"])
            data["seq"], data["hash"] = int(data["seq"]), str(data["hash"])
        except (ValueError, KeyError, TypeError, OSError):
            report.problems.append(f"published head file {path.name} cannot be read")
            continue
        found.append((f"file {path.name}", data))
    return found


def verify_published(batch_size: int = 1000) -> PublishedReport:
    """Every published head (table rows and files): signed by the configured key, and still in the
    chain: the event at its seq has its hash, and the chain's recorded head is not behind it."""
    report = PublishedReport()
    public_key = public_key_b64()
    rows = db.session.scalars(select(AuditPublishedHead).order_by(AuditPublishedHead.id)).all()
    heads = [(f"published head #{p.id}", _file_content(p) | {"published_at": p.published_at}) for p in rows]
    heads += _from_files(heads_dir(), report)
    head = chain.read_head()
    head_seq = head["seq"] if head is not None else 0
    for where, data in heads:
        report.checked += 1
        seq, hash_ = data["seq"], data["hash"]
        if not hmac.compare_digest(str(data.get("public_key", "")), public_key) or not signature_ok(
            public_key, str(data.get("signature", "")), seq, hash_, data["published_at"]
        ):
            report.problems.append(f"{where} (seq {seq}): the signature does not match the configured key")
            continue
        stored = db.session.scalar(select(_events.c.hash).where(_events.c.seq == seq))
        if stored is None or head_seq < seq:
            report.problems.append(
                f"{where}: seq {seq} was published, but the chain "
                + (f"ends at seq {head_seq}" if head_seq < seq else f"has no event seq {seq}")
                + " (events deleted)"
            )
        elif not hmac.compare_digest(stored, hash_):
            report.problems.append(f"{where}: the event at seq {seq} no longer has the published hash")
    return report
