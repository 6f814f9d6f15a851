"""How big ``make bench`` runs: ``BENCH_SCALE=full`` (the default) or ``small`` (a quick check, under
two minutes). Each figure can also be set on its own from the environment."""

from __future__ import annotations

import os

SCALE = os.environ.get("BENCH_SCALE", "full").strip().lower() or "full"
if SCALE not in ("full", "small"):
    raise SystemExit(f"BENCH_SCALE must be 'full' or 'small', not {SCALE!r}")
SMALL = SCALE == "small"


# Whether the run writes docs/benchmarks.md (a small run only prints, unless asked).
WRITE = os.environ.get("BENCH_WRITE", "0" if SMALL else "1") != "0"


def _sizes(name: str, full: str, small: str) -> tuple[int, ...]:
    raw = os.environ.get(name) or (small if SMALL else full)
    return tuple(int(part) for part in raw.split(",") if part.strip())


def _number(name: str, full: float, small: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else (small if SMALL else full)


# Tender search over HTTP: the catalogue sizes (the last is the goal's), seconds per case, connections.
SEARCH_SIZES = _sizes("BENCH_SEARCH_SIZES", "10000,50000,100000", "2000")
SEARCH_SECONDS = _number("BENCH_SEARCH_SECONDS", 10, 3)
SEARCH_WARMUP_SECONDS = _number("BENCH_SEARCH_WARMUP", 2, 0.5)
CONCURRENCY = int(_number("BENCH_CONCURRENCY", 8, 8))
# The SQLite figure through the Flask test client (cheap, kept for comparison with older runs).
SQLITE_TENDERS = int(_number("BENCH_SQLITE_TENDERS", 10000, 0))  # 0: left out

# Contracts (exports and flag-overdue): the sizes (the last is the goal's) and milestones per contract.
CONTRACT_SIZES = _sizes("BENCH_CONTRACT_SIZES", "10000,50000", "2000")
MILESTONES_PER_CONTRACT = int(_number("BENCH_MILESTONES_PER_CONTRACT", 20, 10))
EXPORT_REPEAT = int(_number("BENCH_EXPORT_REPEAT", 1, 1))  # runs of each export (minutes at full size)
REFERENCE_REPEAT = int(_number("BENCH_REFERENCE_REPEAT", 3, 2))  # runs of each psql \copy (seconds)
JOB_REPEAT = int(_number("BENCH_JOB_REPEAT", 3, 1))
# Red flags (issue 22): processes for the full computation, milestones per contract.
REDFLAG_PROCESSES = int(_number("BENCH_REDFLAG_PROCESSES", 100000, 2000))
REDFLAG_MILESTONES = int(_number("BENCH_REDFLAG_MILESTONES", 4, 4))


def apply_to_older_benches() -> None:
    """Make the older benches (read their sizes from the environment at import) small too."""
    if SMALL:
        os.environ.setdefault("BENCH_SUBMISSIONS", "20")
        os.environ.setdefault("BENCH_CONTRACTS", "2000")
        os.environ.setdefault("BENCH_EXPORT_MEMORY_FORMATS", "csv")
