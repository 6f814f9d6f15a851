"""Reproducible random draws (invited suppliers, evaluation experts).

A draw picks ``n`` of the eligible candidates with a seed from the operating system's random source.
The record keeps the seed and the candidate pool in a canonical order (sorted ids), so anyone can
repeat the draw with :func:`draw` and get the same picks in the same order: that is how an auditor
checks that nobody chose by name. The caller stores the record (pool, seed, time, who ran it).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Draw:
    seed: str  # hex, 128 bits
    pool: list[int]  # the eligible candidates' ids, sorted: what the seed was applied to
    picked: list[int]  # in draw order: the first ``n`` are the picks, any further ones the reserves

    def as_record(self) -> dict:
        return {"seed": self.seed, "pool": list(self.pool), "picked": list(self.picked)}


def new_seed() -> str:
    return secrets.token_hex(16)


def draw(candidate_ids: Iterable[int], n: int, seed: str | None = None) -> Draw:
    """Pick ``n`` ids (fewer if the pool is smaller) from ``candidate_ids`` with ``seed`` (a new one
    when None). The same pool and seed always give the same picks in the same order."""
    pool = sorted(set(int(i) for i in candidate_ids))
    seed = seed or new_seed()
    picked = random.Random(int(seed, 16)).sample(pool, min(max(n, 0), len(pool)))  # noqa: S311 - a recorded, reproducible draw, not a secret
    return Draw(seed, pool, picked)


def repeat(record: dict) -> list[int]:
    """The picks a recorded draw gives when run again (to compare with ``record["picked"]``)."""
    return draw(record["pool"], len(record["picked"]), record["seed"]).picked
