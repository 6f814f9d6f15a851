"""What the audit chain's hashes cover, and the key they are made with (docs/audit.md, "Keys").

Two formats, recorded per event in ``chain_format``:

- **1** (events sealed before migration 0019): SHA-256 over :data:`LEGACY_FIELDS` (the id not among
  them), ``seq`` and ``prev_hash``. Kept so that existing chains still verify; no event is sealed in
  this format any more.
- **2**: HMAC-SHA256, keyed with ``AUDIT_CHAIN_KEY``, over **every column** of the row but the hash
  itself (:data:`EVENT_COLUMNS`, the id included) and the name of the chain it is a link of: the main
  chain (``seq``, ``prev_hash``) or its tender's sealed ledger (``ledger_seq``, ``ledger_prev_hash``).
  Whoever edits a row and recomputes the chain without the key is found out at the edited event.

Heads (the main chain's and every ledger's) carry a MAC too, so that moving a head back to an earlier
event needs the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

GENESIS_HASH = "0" * 64
LEGACY_FORMAT, FORMAT = 1, 2
# Format 1: frozen (migration 0005), ``params`` hashed only when set.
LEGACY_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "summary",
    "changes",
    "tender_id",
)
LEGACY_OPTIONAL_FIELDS = ("params",)
# Format 2: every column of ``audit_events`` but ``hash`` (a test checks the table has no other). A new
# column needs a new format number: events already sealed keep theirs.
CONTENT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "summary",
    "changes",
    "params",
    "tender_id",
    "chain_format",
)
LEDGER_COLUMNS = ("ledger_seq", "ledger_prev_hash", "ledger_hash")
MAIN_COLUMNS = ("seq", "prev_hash")
EVENT_COLUMNS = CONTENT_COLUMNS + LEDGER_COLUMNS + MAIN_COLUMNS


def utc_timestamp(moment: datetime | None) -> str | None:
    # Always UTC with microseconds: what both SQLite and PostgreSQL give back for a stored value.
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def _encode(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- format 1 (legacy) ----------------------------------------------------------------------------


def legacy_content(event: Mapping, seq: int, prev_hash: str) -> bytes:
    """The bytes a format-1 hash covers (frozen: migration 0005 and the events sealed before 0019)."""
    content = {name: event[name] for name in LEGACY_FIELDS}
    content.update({name: event[name] for name in LEGACY_OPTIONAL_FIELDS if event.get(name) is not None})
    content["occurred_at"] = utc_timestamp(content["occurred_at"])
    content["seq"] = seq
    content["prev_hash"] = prev_hash
    return _encode(content)


def legacy_hash(event: Mapping, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(legacy_content(event, seq, prev_hash)).hexdigest()


# --- format 2 -------------------------------------------------------------------------------------


def canonical_content(event: Mapping, chain: str = "main") -> bytes:
    """The bytes a format-2 hash covers: every column of the row as read from the database (the id
    included) but the hash, as JSON with sorted keys and no spaces, UTF-8, and the chain's name.

    ``chain="ledger"`` is the link in the tender's sealed ledger, made before the event has a place in
    the main chain: it covers the content and the ledger link only. ``chain="main"`` covers every
    column, the ledger link included (an event that waited in a ledger brings it into the main chain)."""
    columns = CONTENT_COLUMNS + (
        ("ledger_seq", "ledger_prev_hash") if chain == "ledger" else LEDGER_COLUMNS + MAIN_COLUMNS
    )
    content = {name: event[name] for name in columns}
    content["occurred_at"] = utc_timestamp(content["occurred_at"])
    content["chain"] = chain
    return _encode(content)


def event_hash(key: bytes, event: Mapping, chain: str = "main") -> str:
    return hmac.new(key, canonical_content(event, chain), hashlib.sha256).hexdigest()


def head_mac(key: bytes, chain: str, seq: int, hash_: str) -> str:
    """The MAC of a head: ``chain`` is ``main`` or ``ledger:<tender id>``."""
    return hmac.new(
        key, _encode({"chain": chain, "head_seq": seq, "head_hash": hash_}), hashlib.sha256
    ).hexdigest()


def stored_hash_matches(event: Mapping, key: bytes, chain: str = "main") -> bool:
    """Whether the stored hash of ``chain`` (``hash`` or ``ledger_hash``) is the one its content gives."""
    if chain == "ledger":
        return hmac.compare_digest(event["ledger_hash"] or "", event_hash(key, event, "ledger"))
    if event["chain_format"] == LEGACY_FORMAT:
        expected = legacy_hash(event, event["seq"], event["prev_hash"] or "")
    else:
        expected = event_hash(key, event, "main")
    return hmac.compare_digest(event["hash"] or "", expected)


# --- keys -----------------------------------------------------------------------------------------


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def chain_key(config: Mapping) -> bytes:
    """``AUDIT_CHAIN_KEY`` (required in production: config.py), or outside production one derived from
    ``SECRET_KEY`` as the bid wrapping key is (core/keyring.py)."""
    configured = config.get("AUDIT_CHAIN_KEY")
    if configured:
        return _derive(str(configured), b"audit-chain")
    return _derive(str(config["SECRET_KEY"]), b"audit-chain-from-secret-key")


def signing_key(config: Mapping) -> Ed25519PrivateKey:
    """The Ed25519 key that signs the published heads: ``AUDIT_HEAD_SIGNING_KEY`` (32 bytes, base64),
    or one derived from the chain key."""
    configured = config.get("AUDIT_HEAD_SIGNING_KEY")
    if configured:
        seed = base64.b64decode(str(configured), validate=True)
    else:
        seed = hmac.new(chain_key(config), b"audit-head-signing", hashlib.sha256).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def check_signing_key(value: str) -> None:
    """Raise ValueError unless ``value`` is a base64 Ed25519 private key (32 bytes)."""
    try:
        seed = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ValueError("AUDIT_HEAD_SIGNING_KEY is not base64") from exc
    if len(seed) != 32:
        raise ValueError("AUDIT_HEAD_SIGNING_KEY must be 32 bytes (base64)")
