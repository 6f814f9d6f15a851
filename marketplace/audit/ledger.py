"""Every tender's sealed ledger: its bid events while they are hidden (docs/audit.md, "Sealed ledgers").

A bid event is hidden until its tender's bids are opened (:mod:`marketplace.audit.sealed`). Giving it a
position in the main chain then would leave a gap in what auditors see, and tell them that a bid was
saved or submitted, when, and how many. So the sealer chains a hidden event into its tender's own
ledger instead: ``ledger_seq`` (1, 2, 3 … per tender), ``ledger_prev_hash`` and ``ledger_hash`` (an
HMAC over the event's content and this link), with the newest link in ``audit_ledger_heads``. No main
position is taken. Once the opening makes the events visible, the sealer's next pass seals them into
the main chain in ledger order (their main hash covers their ledger link, so the main chain commits to
the ledger). A tender whose bids stay sealed for good keeps its ledger apart for good.

``flask audit verify`` walks every ledger as it walks the main chain.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from marketplace.audit import hashing
from marketplace.audit.models import AuditEvent, AuditLedgerHead
from marketplace.extensions import db

_events = AuditEvent.__table__
_heads = AuditLedgerHead.__table__
COLUMNS = (_events.c.hash,) + tuple(_events.c[name] for name in hashing.EVENT_COLUMNS)


def ledger_name(tender_id: int) -> str:
    return f"ledger:{tender_id}"


def _read_heads(connection, tender_ids) -> dict[int, tuple[int, str]]:
    rows = connection.execute(
        select(_heads.c.tender_id, _heads.c.seq, _heads.c.hash).where(_heads.c.tender_id.in_(tender_ids))
    )
    return {r.tender_id: (r.seq, r.hash) for r in rows}


def append(connection, rows: Sequence[Mapping], key: bytes) -> int:
    """Chain ``rows`` (hidden, unsealed events with a tender, oldest id first) into their tenders'
    ledgers and move those heads; returns how many. Runs under the sealer's lock."""
    if not rows:
        return 0
    tails = _read_heads(connection, {r["tender_id"] for r in rows})
    known = set(tails)
    links = []
    for row in rows:
        tender_id = row["tender_id"]
        seq, prev_hash = tails.get(tender_id, (0, hashing.GENESIS_HASH))
        linked = dict(row) | {
            "chain_format": hashing.FORMAT,
            "ledger_seq": seq + 1,
            "ledger_prev_hash": prev_hash,
        }
        digest = hashing.event_hash(key, linked, "ledger")
        links.append({"b_id": row["id"], "b_seq": seq + 1, "b_prev": prev_hash, "b_hash": digest})
        tails[tender_id] = (seq + 1, digest)
    connection.execute(
        update(_events)
        .where(_events.c.id == bindparam("b_id"))
        .values(
            chain_format=hashing.FORMAT,
            ledger_seq=bindparam("b_seq"),
            ledger_prev_hash=bindparam("b_prev"),
            ledger_hash=bindparam("b_hash"),
        ),
        links,
    )
    for tender_id in {r["tender_id"] for r in rows}:
        seq, digest = tails[tender_id]
        values = {
            "seq": seq,
            "hash": digest,
            "mac": hashing.head_mac(key, ledger_name(tender_id), seq, digest),
        }
        if tender_id in known:
            connection.execute(_heads.update().where(_heads.c.tender_id == tender_id).values(**values))
        else:
            connection.execute(_heads.insert().values(tender_id=tender_id, **values))
    return len(links)


# --- verifying ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerReport:
    ledgers: int = 0
    events: int = 0
    broken: str | None = None  # the first problem, described

    @property
    def ok(self) -> bool:
        return self.broken is None


def _ledger_events(tender_id: int, batch_size: int) -> Iterator[Mapping]:
    after = 0
    while True:
        batch = (
            db.session.execute(
                select(*COLUMNS)
                .where(_events.c.tender_id == tender_id, _events.c.ledger_seq > after)
                .order_by(_events.c.ledger_seq)
                .limit(batch_size)
            )
            .mappings()
            .all()
        )
        if not batch:
            return
        yield from batch
        after = batch[-1]["ledger_seq"]


def _check_ledger(
    tender_id: int, head: Mapping | None, key: bytes, batch_size: int
) -> tuple[int, str | None]:
    """(events walked, the first problem) of one tender's ledger."""
    where = f"tender {tender_id}'s sealed ledger"
    walked, last_seq, prev_hash = 0, 0, hashing.GENESIS_HASH
    for row in _ledger_events(tender_id, batch_size):
        name = f"{where}, ledger seq {row['ledger_seq']} (event id {row['id']}, {row['action']})"
        if row["ledger_seq"] != last_seq + 1:
            return walked, f"{where}: ledger seq {last_seq + 1} missing (deleted), followed by {name}"
        if not hashing.stored_hash_matches(row, key, "ledger"):
            return walked, f"{name}: content edited: the stored ledger hash does not match"
        if row["ledger_prev_hash"] != prev_hash:
            return walked, f"{name}: out of order: ledger_prev_hash does not match the event before it"
        walked, last_seq, prev_hash = walked + 1, row["ledger_seq"], row["ledger_hash"]
    if head is None:
        return walked, f"{where}: its head record is missing"
    if head["seq"] != last_seq or head["hash"] != prev_hash:
        return walked, (
            f"{where}: the head records ledger seq {head['seq']} but the ledger ends at {last_seq} "
            "(events deleted, replaced or added past the head)"
        )
    expected = hashing.head_mac(key, ledger_name(tender_id), head["seq"], head["hash"])
    if not hmac.compare_digest(head["mac"] or "", expected):
        return walked, f"{where}: the head's MAC does not match (moved without the chain key)"
    return walked, None


def verify_ledgers(key: bytes, batch_size: int = 1000) -> LedgerReport:
    """Walk every tender's ledger (those with a head, and those with events but no head)."""
    heads = {r["tender_id"]: r for r in db.session.execute(select(_heads)).mappings()}
    with_events = set(
        db.session.scalars(select(_events.c.tender_id).where(_events.c.ledger_seq.is_not(None)).distinct())
    )
    ledgers = events = 0
    for tender_id in sorted(set(heads) | with_events):
        walked, broken = _check_ledger(tender_id, heads.get(tender_id), key, batch_size)
        ledgers, events = ledgers + 1, events + walked
        if broken is not None:
            return LedgerReport(ledgers, events, broken)
    return LedgerReport(ledgers, events)
