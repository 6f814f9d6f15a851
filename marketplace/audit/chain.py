"""The audit log's hash chain, and ``flask audit verify``.

Each event stores its position ``seq`` (1, 2, 3, … with no gaps), the previous event's hash
``prev_hash`` (:data:`GENESIS_HASH` for the first) and ``hash``: the SHA-256 of its canonical content,
which includes ``seq`` and ``prev_hash``. Editing an event changes its content, deleting one leaves a
gap, and moving or inserting one breaks a ``prev_hash`` link; :func:`verify_chain` finds the first
such event. The newest link is also kept in ``audit_chain_heads``, so that deleting the newest events
shows too.

Events are inserted unlinked (no lock on the request path) and **sealed** afterwards by
:func:`seal`, which the ``seal-audit`` job runs every few seconds: it takes the committed events that
have no ``seq`` yet, in id order, gives them the next positions and hashes, and moves the head, in
one transaction under a lock that admits one sealer at a time (a PostgreSQL advisory lock; on SQLite
the write lock of its ``BEGIN IMMEDIATE``). An event committed late (a lower id than events already
sealed) is sealed in the next pass, at the next position: positions follow sealing, not ids.
:func:`verify_chain` reports the unsealed tail and its age (docs/audit.md).

The hash is a seal against edits made past the application, not a signature: whoever can write the
table and knows this algorithm can rewrite the tail of the chain and the head. Auditors who want to
detect that too note the head hash that ``audit verify`` prints and compare it later.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import click
from flask.cli import AppGroup
from sqlalchemy import bindparam, func, or_, select, update

from marketplace import clock
from marketplace.audit.models import AuditChainHead, AuditEvent
from marketplace.core.documents import StoredFilesReport, verify_stored_files
from marketplace.extensions import db

GENESIS_HASH = "0" * 64
HEAD_ID = 1
# Content fields in the hash, besides ``seq`` and ``prev_hash``. Changing this list (or the encoding in
# :func:`canonical_content`) needs a migration that recomputes every hash.
HASHED_FIELDS = (
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
# Hashed only when set, so events written before they existed keep their hashes.
OPTIONAL_HASHED_FIELDS = ("params",)
# A fixed signed 64-bit key for pg_advisory_xact_lock (jobruns derives its keys the same way).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"marketplace.audit_chain").digest()[:8], "big", signed=True)
SEAL_BATCH = 2000  # events sealed per statement batch

_events = AuditEvent.__table__
_heads = AuditChainHead.__table__
_columns = (_events.c.id, _events.c.seq, _events.c.prev_hash, _events.c.hash) + tuple(
    _events.c[name] for name in HASHED_FIELDS + OPTIONAL_HASHED_FIELDS
)


# --- the hash -----------------------------------------------------------------------------------------


def _timestamp(moment: datetime | None) -> str | None:
    # Always UTC with microseconds: what both SQLite and PostgreSQL give back for a stored value.
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_content(event: Mapping, seq: int, prev_hash: str) -> bytes:
    """The bytes an event's hash covers: its content fields as read from the database, its position
    and the previous hash, as JSON with sorted keys and no spaces, UTF-8."""
    content = {name: event[name] for name in HASHED_FIELDS}
    content.update({name: event[name] for name in OPTIONAL_HASHED_FIELDS if event.get(name) is not None})
    content["occurred_at"] = _timestamp(content["occurred_at"])
    content["seq"] = seq
    content["prev_hash"] = prev_hash
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(event: Mapping, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical_content(event, seq, prev_hash)).hexdigest()


# --- linking new events -----------------------------------------------------------------------------


def _lock(connection) -> None:
    """Hold the chain for the rest of the transaction (nothing to do on SQLite: see the module doc)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))


def _read_head(connection) -> tuple[int, str] | None:
    row = connection.execute(select(_heads.c.seq, _heads.c.hash).where(_heads.c.id == HEAD_ID)).first()
    return None if row is None else (row.seq, row.hash)


def _tail(connection) -> tuple[int, str]:
    """Where to append: the recorded head, or (no head row: a new or emptied database) the newest event."""
    head = _read_head(connection)
    if head is not None:
        return head
    row = connection.execute(
        select(_events.c.seq, _events.c.hash)
        .where(_events.c.seq.is_not(None))
        .order_by(_events.c.seq.desc())
        .limit(1)
    ).first()
    return (row.seq, row.hash) if row is not None else (0, GENESIS_HASH)


def _move_head(connection, seq: int, hash_: str) -> None:
    moved = connection.execute(_heads.update().where(_heads.c.id == HEAD_ID).values(seq=seq, hash=hash_))
    if moved.rowcount == 0:
        connection.execute(_heads.insert().values(id=HEAD_ID, seq=seq, hash=hash_))


def seal(batch_size: int = SEAL_BATCH) -> int:
    """Seal up to ``batch_size`` committed, unsealed events (oldest id first); returns how many.

    Runs in the caller's transaction (the ``seal-audit`` job's); the hash is computed from the rows as
    read back from the database, so it is exactly what :func:`verify_chain` will recompute."""
    connection = db.session.connection(bind_arguments={"mapper": AuditEvent.__mapper__})
    _lock(connection)
    rows = (
        connection.execute(
            select(*_columns).where(_events.c.seq.is_(None)).order_by(_events.c.id).limit(batch_size)
        )
        .mappings()
        .all()
    )
    if not rows:
        return 0
    seq, prev_hash = _tail(connection)
    links = []
    for row in rows:
        seq += 1
        digest = event_hash(row, seq, prev_hash)
        links.append({"b_id": row["id"], "b_seq": seq, "b_prev": prev_hash, "b_hash": digest})
        prev_hash = digest
    connection.execute(
        update(_events)
        .where(_events.c.id == bindparam("b_id"))
        .values(seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash")),
        links,
    )
    _move_head(connection, seq, prev_hash)
    return len(links)


def seal_all(batch_size: int = SEAL_BATCH, max_batches: int = 100) -> int:
    """Seal every unsealed event (in batches, at most ``max_batches`` of them this call)."""
    sealed = 0
    for _ in range(max_batches):
        n = seal(batch_size)
        sealed += n
        if n < batch_size:
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


def _check_row(row: Mapping, last_seq: int, prev_hash: str) -> ChainBreak | None:
    """Whether ``row`` is the valid successor of the event at ``last_seq`` with hash ``prev_hash``."""
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
    if event_hash(row, row["seq"], row["prev_hash"] or "") != row["hash"]:
        return ChainBreak.at("edited", row, "content edited: the stored hash does not match")
    if row["prev_hash"] != prev_hash:
        return ChainBreak.at(
            "out_of_order",
            row,
            "out of order: prev_hash does not match the hash of the event before it "
            "(inserted, moved or replaced)",
        )
    return None


def _check_head(head: tuple[int, str], last_seq: int, prev_hash: str) -> ChainBreak | None:
    head_seq, head_hash = head
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
    return None


def verify_chain(batch_size: int = 1000) -> ChainReport:
    """Walk the chain by ``seq``, recomputing every hash; stop at the first event that does not hold.

    Works while the sealer appends: events sealed during the walk are walked too (the head is read
    after the events, and a head ahead of the walk sends it on). Unsealed events are counted, not
    judged: they are verified once sealed."""
    walked, last_seq, prev_hash, after = 0, 0, GENESIS_HASH, None

    def result(broken: ChainBreak | None = None) -> ChainReport:
        return ChainReport(events=walked, head_seq=last_seq, head_hash=prev_hash, broken=broken)

    while True:
        found = False
        for row in _walk(after, batch_size):
            found = True
            broken = _check_row(row, last_seq, prev_hash)
            if broken is not None:
                return result(broken)
            walked, last_seq, prev_hash, after = walked + 1, row["seq"], row["hash"], (row["seq"], row["id"])
        head = _read_head(db.session.connection())
        if head is None:
            if walked:
                return result(ChainBreak("head", None, detail="the chain head record is missing"))
            break
        if head[0] > last_seq and found:
            continue  # sealed while we walked: walk on
        broken = _check_head(head, last_seq, prev_hash)
        if broken is not None:
            return result(broken)
        break
    unsealed, oldest = db.session.execute(
        select(func.count(), func.min(_events.c.occurred_at)).where(_events.c.seq.is_(None))
    ).one()
    report = result()
    return ChainReport(report.events, report.head_seq, report.head_hash, None, unsealed, oldest)


# --- command line -------------------------------------------------------------------------------------

audit_cli = AppGroup("audit", help="The tamper-evident audit log.")


@audit_cli.command("verify")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def verify_command(batch_size: int):
    """Recompute the audit chain and check every stored document against its SHA-256; exit 1 naming the
    first edited, deleted or out-of-order event, and the missing or altered files."""
    chain_ok = _echo_chain(verify_chain(batch_size))
    files_ok = _echo_files(verify_stored_files(batch_size))
    if not (chain_ok and files_ok):
        sys.exit(1)


def _echo_chain(report: ChainReport) -> bool:
    if not report.ok:
        click.echo(f"audit chain BROKEN at {report.broken.describe()}", err=True)
        click.echo(f"({report.events} events verified before it)", err=True)
        return False
    click.echo(f"audit chain OK: {report.events} events")
    if report.events:
        click.echo(f"head: seq {report.head_seq} sha256 {report.head_hash}")
    if report.unsealed:
        age = (clock.now() - report.oldest_unsealed_at).total_seconds()
        click.echo(
            f"not sealed yet: {report.unsealed} events, the oldest written {age:.0f} s ago "
            "(the seal-audit job seals them; they are verified once sealed)"
        )
    return True


def _echo_files(report: StoredFilesReport) -> bool:
    """The stored documents (kept 15 years, GPL 42): each file present with its recorded SHA-256."""
    if report.ok:
        click.echo(f"stored files OK: {report.checked} documents")
        return True
    click.echo(
        f"stored files BROKEN: {report.missing} missing, {report.altered} altered "
        f"of {report.checked} documents",
        err=True,
    )
    for line in report.examples:
        click.echo(f"  {line}", err=True)
    shown = len(report.examples)
    if report.missing + report.altered > shown:
        click.echo(f"  … and {report.missing + report.altered - shown} more", err=True)
    return False
