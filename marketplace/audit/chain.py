"""The audit log's hash chain: sealing (the ``seal-audit`` job) and verifying (``flask audit verify``).

Each event stores its position ``seq`` (1, 2, 3, … with no gaps), the previous event's hash
``prev_hash`` (:data:`GENESIS_HASH` for the first) and ``hash``: an HMAC, keyed with the chain key, over
every column of the event, ``seq`` and ``prev_hash`` included (:mod:`marketplace.audit.hashing`; events
sealed before migration 0019 keep their unkeyed format-1 hash). Editing an event changes its content,
deleting one leaves a gap, and moving or inserting one breaks a ``prev_hash`` link; :func:`verify_chain`
finds the first such event. The newest link is also kept in ``audit_chain_heads`` with a MAC, so that
deleting the newest events shows too, and the head is published (``audit/published.py``).

Events are inserted unlinked (no lock on the request path) and **sealed** afterwards by
:func:`seal`, which the ``seal-audit`` job runs every few seconds: it takes the committed events that
have no ``seq`` yet, in id order, gives them the next positions and hashes, and moves the head, in
one transaction under a lock that admits one sealer at a time (a PostgreSQL advisory lock; on SQLite
the write lock of its ``BEGIN IMMEDIATE``). An event committed late (a lower id than events already
sealed) is sealed in the next pass, at the next position: positions follow sealing, not ids.

A bid event still hidden (:mod:`marketplace.audit.sealed`) never gets a main position: it is chained in
its tender's sealed ledger (:mod:`marketplace.audit.ledger`) and sealed into the main chain once the
opening makes it visible. So the main chain, what auditors see of it, and the sealer's counts show
nothing of bids before the opening (docs/audit.md).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, bindparam, func, not_, or_, select, update

from marketplace.audit import hashing, ledger
from marketplace.audit.hashing import GENESIS_HASH, LEGACY_FORMAT
from marketplace.audit.models import AuditChainHead, AuditEvent
from marketplace.audit.sealed import sealed_bid_event_filter
from marketplace.extensions import db

HEAD_ID = 1
MAIN = "main"
# A fixed signed 64-bit key for pg_advisory_xact_lock (jobruns derives its keys the same way).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"marketplace.audit_chain").digest()[:8], "big", signed=True)
SEAL_BATCH = 2000  # events sealed per statement batch

_events = AuditEvent.__table__
_heads = AuditChainHead.__table__
_columns = ledger.COLUMNS


def chain_key() -> bytes:
    return hashing.chain_key(current_app.config)


# --- linking new events -----------------------------------------------------------------------------


def _lock(connection) -> None:
    """Hold the chain for the rest of the transaction (nothing to do on SQLite: see the module doc)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))


def _read_head(connection) -> tuple[int, str, str | None] | None:
    """(seq, hash, mac) of the recorded head, or None."""
    row = connection.execute(
        select(_heads.c.seq, _heads.c.hash, _heads.c.mac).where(_heads.c.id == HEAD_ID)
    ).first()
    return None if row is None else (row.seq, row.hash, row.mac)


def read_head() -> Mapping | None:
    """The recorded head of the main chain (seq, hash, mac), or None."""
    return db.session.execute(select(_heads).where(_heads.c.id == HEAD_ID)).mappings().first()


def _tail(connection) -> tuple[int, str]:
    """Where to append: the recorded head, or (no head row: a new or emptied database) the newest event."""
    head = _read_head(connection)
    if head is not None:
        return head[0], head[1]
    row = connection.execute(
        select(_events.c.seq, _events.c.hash)
        .where(_events.c.seq.is_not(None))
        .order_by(_events.c.seq.desc())
        .limit(1)
    ).first()
    return (row.seq, row.hash) if row is not None else (0, GENESIS_HASH)


def _move_head(connection, seq: int, hash_: str, key: bytes) -> None:
    values = {"seq": seq, "hash": hash_, "mac": hashing.head_mac(key, MAIN, seq, hash_)}
    moved = connection.execute(_heads.update().where(_heads.c.id == HEAD_ID).values(**values))
    if moved.rowcount == 0:
        connection.execute(_heads.insert().values(id=HEAD_ID, **values))


def hidden_condition():
    """Events the main chain must not take yet: bid events hidden until the opening, with a tender."""
    return and_(not_(sealed_bid_event_filter()), _events.c.tender_id.is_not(None))


def _unsealed(connection, condition, batch_size: int) -> list[Mapping]:
    return (
        connection.execute(select(*_columns).where(condition).order_by(_events.c.id).limit(batch_size))
        .mappings()
        .all()
    )


def _seal_main(connection, rows: list[Mapping], key: bytes) -> int:
    if not rows:
        return 0
    seq, prev_hash = _tail(connection)
    links = []
    for row in rows:
        seq += 1
        linked = dict(row) | {"chain_format": hashing.FORMAT, "seq": seq, "prev_hash": prev_hash}
        digest = hashing.event_hash(key, linked, MAIN)
        links.append({"b_id": row["id"], "b_seq": seq, "b_prev": prev_hash, "b_hash": digest})
        prev_hash = digest
    connection.execute(
        update(_events)
        .where(_events.c.id == bindparam("b_id"))
        .values(
            chain_format=hashing.FORMAT,
            seq=bindparam("b_seq"),
            prev_hash=bindparam("b_prev"),
            hash=bindparam("b_hash"),
        ),
        links,
    )
    _move_head(connection, seq, prev_hash, key)
    return len(links)


def _seal_pass(batch_size: int) -> tuple[int, int]:
    """(main, ledger): events sealed into the main chain and into sealed ledgers by one pass."""
    connection = db.session.connection(bind_arguments={"mapper": AuditEvent.__mapper__})
    _lock(connection)
    key = chain_key()
    hidden = hidden_condition()
    unsealed = _events.c.seq.is_(None)
    # Hidden events into their tenders' ledgers; the visible ones (those whose ledger the opening has
    # just made visible too) into the main chain.
    in_ledger = ledger.append(
        connection,
        _unsealed(connection, and_(unsealed, _events.c.ledger_seq.is_(None), hidden), batch_size),
        key,
    )
    in_main = _seal_main(connection, _unsealed(connection, and_(unsealed, not_(hidden)), batch_size), key)
    return in_main, in_ledger


def seal(batch_size: int = SEAL_BATCH) -> int:
    """Seal up to ``batch_size`` committed, unsealed visible events (oldest id first) into the main
    chain, and as many hidden ones into their ledgers; returns how many went into the main chain (the
    ledgers' work is not counted: the job's run log must not show bid activity).

    Runs in the caller's transaction (the ``seal-audit`` job's); the hash is computed from the rows as
    read back from the database, so it is exactly what :func:`verify_chain` will recompute."""
    return _seal_pass(batch_size)[0]


def seal_all(batch_size: int = SEAL_BATCH, max_batches: int = 100) -> int:
    """Seal every unsealed event (in batches, at most ``max_batches`` of them this call); returns how
    many went into the main chain, as :func:`seal`."""
    sealed = 0
    for _ in range(max_batches):
        in_main, in_ledger = _seal_pass(batch_size)
        sealed += in_main
        if in_main < batch_size and in_ledger < batch_size:
            break
    return sealed


# --- verifying ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the chain does not hold."""

    kind: str  # edited | missing | out_of_order | unlinked | head
    seq: int | None
    event_id: int | None = None
    action: str = ""
    object: str = ""
    detail: str = ""

    @classmethod
    def at(cls, kind: str, row: Mapping, detail: str, seq: int | None = None) -> ChainBreak:
        return cls(
            kind=kind,
            seq=row["seq"] if seq is None else seq,
            event_id=row["id"],
            action=row["action"],
            object=f"{row['object_type']} {row['object_id']}",
            detail=detail,
        )

    def describe(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "an event without seq"
        if self.event_id is not None:
            where += f" (event id {self.event_id}, {self.action} on {self.object})"
        return f"{where}: {self.detail}"


@dataclass(frozen=True)
class ChainReport:
    events: int  # events walked (all of them when the chain is whole)
    head_seq: int
    head_hash: str
    broken: ChainBreak | None = None
    unsealed: int = 0  # committed events the sealer has not reached yet
    oldest_unsealed_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _name(row: Mapping) -> str:
    return (
        f"seq {row['seq']} (event id {row['id']}, {row['action']} on {row['object_type']} {row['object_id']})"
    )


def _walk(after: tuple[int, int] | None, batch_size: int) -> Iterator[Mapping]:
    """Linked events in chain order after the (seq, id) ``after``, a batch per query (memory stays flat)."""
    while True:
        stmt = select(*_columns).where(_events.c.seq.is_not(None))
        if after is not None:
            stmt = stmt.where(
                or_(_events.c.seq > after[0], (_events.c.seq == after[0]) & (_events.c.id > after[1]))
            )
        batch = (
            db.session.execute(stmt.order_by(_events.c.seq, _events.c.id).limit(batch_size)).mappings().all()
        )
        if not batch:
            return
        yield from batch
        after = (batch[-1]["seq"], batch[-1]["id"])


def _first(stmt) -> Mapping | None:
    return db.session.execute(stmt.limit(1)).mappings().first()


def _check_row(
    row: Mapping, last_seq: int, prev_hash: str, key: bytes, keyed_seen: bool
) -> ChainBreak | None:
    """Whether ``row`` is the valid successor of the event at ``last_seq`` with hash ``prev_hash``
    (``keyed_seen``: an event before it has a format-2 hash, so no format-1 event may follow)."""
    expected = last_seq + 1
    if row["seq"] > expected:
        gap = f"{expected}" if row["seq"] == expected + 1 else f"{expected}–{row['seq'] - 1}"
        return ChainBreak(
            "missing",
            expected,
            detail=f"event seq {gap} missing (deleted): seq {last_seq or 'genesis'} is followed "
            f"by {_name(row)}",
        )
    if row["seq"] < expected:
        return ChainBreak.at("out_of_order", row, f"seq {row['seq']} repeats or precedes seq {last_seq}")
    if row["chain_format"] not in (LEGACY_FORMAT, hashing.FORMAT) or (
        keyed_seen and row["chain_format"] == LEGACY_FORMAT
    ):
        return ChainBreak.at("edited", row, "content edited: its chain format was changed")
    if not hashing.stored_hash_matches(row, key, MAIN):
        return ChainBreak.at("edited", row, "content edited: the stored hash does not match")
    if row["prev_hash"] != prev_hash:
        return ChainBreak.at(
            "out_of_order",
            row,
            "out of order: prev_hash does not match the hash of the event before it "
            "(inserted, moved or replaced)",
        )
    return None


def _check_head(
    head: tuple[int, str, str | None], last_seq: int, prev_hash: str, key: bytes
) -> ChainBreak | None:
    head_seq, head_hash, head_mac = head
    if head_seq > last_seq:
        return ChainBreak(
            "missing",
            last_seq + 1,
            detail=f"the newest events are missing (deleted): the chain ends at seq {last_seq} "
            f"but its head records seq {head_seq}",
        )
    if head_seq < last_seq:
        row = _first(select(*_columns).where(_events.c.seq == head_seq + 1))
        return ChainBreak.at(
            "out_of_order", row, f"inserted past the recorded head (the head records seq {head_seq})"
        )
    if head_hash != prev_hash:
        return ChainBreak(
            "head", last_seq, detail="the newest event was replaced: its hash differs from the recorded head"
        )
    if not hmac.compare_digest(head_mac or "", hashing.head_mac(key, MAIN, head_seq, head_hash)):
        return ChainBreak(
            "head",
            last_seq,
            detail="the head's MAC does not match: the head was moved, or the chain recomputed, without "
            "the chain key",
        )
    return None


def verify_chain(batch_size: int = 1000) -> ChainReport:
    """Walk the chain by ``seq``, recomputing every hash; stop at the first event that does not hold.

    Works while the sealer appends: events sealed during the walk are walked too (the head is read
    after the events, and a head ahead of the walk sends it on). Unsealed events are counted, not
    judged: they are verified once sealed."""
    walked, last_seq, prev_hash, after = 0, 0, GENESIS_HASH, None
    key, keyed_seen = chain_key(), False

    def result(broken: ChainBreak | None = None) -> ChainReport:
        return ChainReport(events=walked, head_seq=last_seq, head_hash=prev_hash, broken=broken)

    while True:
        found = False
        for row in _walk(after, batch_size):
            found = True
            broken = _check_row(row, last_seq, prev_hash, key, keyed_seen)
            if broken is not None:
                return result(broken)
            keyed_seen = keyed_seen or row["chain_format"] == hashing.FORMAT
            walked, last_seq, prev_hash, after = walked + 1, row["seq"], row["hash"], (row["seq"], row["id"])
        head = _read_head(db.session.connection())
        if head is None:
            if walked:
                return result(ChainBreak("head", None, detail="the chain head record is missing"))
            break
        if head[0] > last_seq and found:
            continue  # sealed while we walked: walk on
        broken = _check_head(head, last_seq, prev_hash, key)
        if broken is not None:
            return result(broken)
        break
    unsealed, oldest = db.session.execute(
        select(func.count(), func.min(_events.c.occurred_at)).where(
            _events.c.seq.is_(None), _events.c.ledger_seq.is_(None)
        )
    ).one()
    report = result()
    return ChainReport(report.events, report.head_seq, report.head_hash, None, unsealed, oldest)
