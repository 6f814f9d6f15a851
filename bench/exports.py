"""CSV export of contracts against ``psql \\copy`` of the same joined rows (issue 16, goal 2).

For each kind (``contracts`` summaries, ``history``) the export runs as an operator runs it,
``flask export contracts --format csv --kind KIND --out FILE``, in a process of its own: its wall time
(start-up included) and its peak resident memory (``ru_maxrss`` of that process alone, from ``os.wait4``
in a small wrapper: see ``_MEASURE``).
The reference, in the same run on the same database, is one ``psql \\copy (SELECT …) TO FILE`` of
the same rows with the same joins, aggregates, time-zone conversion and order, done by PostgreSQL
alone. Best of ``EXPORT_REPEAT`` runs of the export (1 at full size: minutes each) and of
``REFERENCE_REPEAT`` of the reference (after one warming run).

Goal at 50,000 contracts: the export within 3 × the reference's time, and a peak RSS under 150 MB.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import scale
from bench.loaders import pg_dsn
from bench.server import ROOT, server_env

KINDS = ("contracts", "history")
GOAL_RATIO = 3.0
GOAL_RSS_MB = 150.0
ZONE = "Asia/Shanghai"


def _local(column: str) -> str:
    """A timestamptz as ISO 8601 in the display zone, as the export writes it."""
    return (
        f"CASE WHEN {column} IS NULL THEN '' ELSE to_char({column} AT TIME ZONE '{ZONE}', "
        f"'YYYY-MM-DD\"T\"HH24:MI:SS') || '+08:00' END"
    )


# The contract summaries: the columns of marketplace/audit/export_columns.py's "contracts" kind.
CONTRACTS_SQL = f"""
SELECT c.id, c.reference, c.title, c.status, t.reference, t.category, t.district_code, a.name, o.name,
  o.uscc, {_local("aw.published_at")},
  ((coalesce(c.activated_at, c.created_at)) AT TIME ZONE '{ZONE}')::date,
  c.term_start, c.term_end, c.original_value, c.value, coalesce(m.due, 0)::numeric(14, 2),
  coalesce(p.paid, 0)::numeric(14, 2), c.value - coalesce(p.paid, 0), coalesce(m.n, 0),
  coalesce(m.accepted, 0), coalesce(v.n, 0), coalesce(s.n, 0), coalesce(s.beneficiaries, 0),
  coalesce(s.hours, 0)::numeric(14, 2), coalesce(acc.result, ''),
  coalesce(json_array_length(acc.recipient_representatives), 0),
  {_local("c.officer_signed_at")}, {_local("c.org_signed_at")}, {_local("c.completed_at")},
  {_local("c.terminated_at")}
FROM contracts c
JOIN tenders t ON t.id = c.tender_id
JOIN agencies a ON a.id = c.agency_id
JOIN organizations o ON o.id = c.organization_id
LEFT JOIN awards aw ON aw.id = c.award_id
LEFT JOIN (SELECT contract_id, count(*) AS n, count(*) FILTER (WHERE status = 'accepted') AS accepted,
             sum(amount) FILTER (WHERE status = 'accepted') AS due
           FROM milestones GROUP BY contract_id) m ON m.contract_id = c.id
LEFT JOIN (SELECT contract_id, sum(amount) AS paid FROM payments GROUP BY contract_id) p
  ON p.contract_id = c.id
LEFT JOIN (SELECT contract_id, count(*) AS n FROM variations WHERE status = 'approved'
           GROUP BY contract_id) v ON v.contract_id = c.id
LEFT JOIN (SELECT contract_id, count(*) AS n, sum(beneficiaries) AS beneficiaries, sum(hours) AS hours
           FROM service_records GROUP BY contract_id) s ON s.contract_id = c.id
LEFT JOIN acceptances acc ON acc.contract_id = c.id
ORDER BY c.id
"""

_PARTY = "coalesce(ag.name, org.name, u.role, 'System')"
_ACTOR_JOINS = (
    "LEFT JOIN users u ON u.id = {user} LEFT JOIN agencies ag ON ag.id = u.agency_id "
    "LEFT JOIN organizations org ON org.id = u.organization_id"
)

# The histories: the audit events of each contract's tender and of the contract (service-record
# events left out), payments, and service records summed per month, in time order per contract.
HISTORY_SQL = f"""
SELECT h.contract_id, h.reference, {_local("h.at")}, h.kind, h.action, h.party, h.account, h.text
FROM (
  SELECT c.id AS contract_id, c.reference, e.occurred_at AS at, split_part(e.action, '.', 1) AS kind,
    e.action, {_PARTY} AS party, e.actor_label AS account, e.summary AS text, e.id AS seq
  FROM contracts c JOIN audit_events e ON e.tender_id = c.tender_id
  {_ACTOR_JOINS.format(user="e.actor_id")}
  WHERE e.action <> 'contract.service_logged'
  UNION ALL
  SELECT c.id, c.reference, e.occurred_at, split_part(e.action, '.', 1), e.action, {_PARTY},
    e.actor_label, e.summary, e.id
  FROM contracts c JOIN audit_events e ON e.object_type = 'contract' AND e.object_id = c.id::text
    AND e.tender_id IS DISTINCT FROM c.tender_id
  {_ACTOR_JOINS.format(user="e.actor_id")}
  WHERE e.action <> 'contract.service_logged'
  UNION ALL
  SELECT c.id, c.reference, p.recorded_at, 'payment', 'payment', {_PARTY}, u.email,
    'Payment of ¥' || to_char(p.amount, 'FM999,999,999,990.00') || ' on ' || p.paid_on || ' ('
    || p.reference || ')', 0
  FROM contracts c JOIN payments p ON p.contract_id = c.id
  {_ACTOR_JOINS.format(user="p.recorded_by_id")}
  UNION ALL
  SELECT c.id, c.reference, max(r.recorded_at), 'service_totals', 'service_totals', o.name, '',
    to_char(date_trunc('month', r.service_date), 'YYYY-MM') || ': ' || count(*) || ' record(s), quantity '
    || sum(r.quantity) || ', ' || sum(r.beneficiaries) || ' beneficiaries, ' || sum(r.hours) || ' hours', 0
  FROM contracts c JOIN service_records r ON r.contract_id = c.id
  JOIN organizations o ON o.id = c.organization_id
  GROUP BY c.id, c.reference, o.name, date_trunc('month', r.service_date)
) h
ORDER BY h.contract_id, h.at, h.seq
"""

REFERENCE = {"contracts": CONTRACTS_SQL, "history": HISTORY_SQL}


@dataclass
class ExportCase:
    kind: str
    contracts: int
    seconds: float  # the CLI, start-up included
    max_rss_mb: float
    rows: int
    size: int  # bytes
    reference_seconds: float
    reference_rows: int

    @property
    def ratio(self) -> float:
        return self.seconds / self.reference_seconds if self.reference_seconds else float("inf")

    def met(self) -> bool:
        return self.ratio <= GOAL_RATIO and self.max_rss_mb < GOAL_RSS_MB

    def ratio_without(self, startup: float) -> float:
        """The ratio with the command's start-up taken out."""
        return (
            max(self.seconds - startup, 0) / self.reference_seconds
            if self.reference_seconds
            else float("inf")
        )


# Runs a command as a grandchild and reports its wall time and peak RSS. ``ru_maxrss`` of a child
# started straight from this (large) bench process counts this process's memory: the child is forked
# (or vforked) from it, and Linux keeps the larger high-water mark across ``exec``. So a small
# interpreter forks the command and waits for it instead: the figure is the command's own.
_MEASURE = """
import os, sys, time
out, args = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(args[0], args)
_pid, status, usage = os.wait4(pid, 0)
with open(out, "w") as handle:
    handle.write(f"{time.perf_counter() - start} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def _run_child(args: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB of that command alone, stderr) of one command."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as result:
        wrapper = [sys.executable, "-S", "-c", _MEASURE, result.name, *args]
        proc = subprocess.run(wrapper, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        measured = result.read().split()
    if proc.returncode != 0 or len(measured) != 3 or measured[2] != "0":
        raise RuntimeError(f"{' '.join(args[:6])}… failed ({measured or proc.returncode}): {text[-2000:]}")
    return float(measured[0]), int(measured[1]) / 1024, text


def _flask_env(url: str) -> dict:
    """A production process's environment, with its bytecode cached as an installed package has it
    (``pip install`` compiles the modules; a checkout run with PYTHONDONTWRITEBYTECODE=1 would compile
    every module of the app again at each start, a second of start-up on this machine)."""
    env = server_env(url)
    env.setdefault("AUDIT_CHAIN_KEY", "bench-audit-chain-key-not-for-production-0123456789")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "marketplace-bench-pycache")
    return env


def _cli(url: str, kind: str, out: Path) -> tuple[float, float]:
    args = [str(ROOT / ".venv/bin/flask"), "--app", "marketplace", "export", "contracts"]
    args += ["--format", "csv", "--kind", kind, "--out", str(out)]
    seconds, rss, _err = _run_child(args, _flask_env(url))
    return seconds, rss


def _psql(url: str, kind: str, out: Path) -> float:
    query = re.sub(r"\s+", " ", REFERENCE[kind]).strip()
    command = f"\\copy ({query}) TO '{out}' WITH (FORMAT csv, HEADER)"
    seconds, _rss, _err = _run_child(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg_dsn(url), "-c", command]
    )
    return seconds


def _rows(path: Path) -> int:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def startup(url: str) -> tuple[float, float]:
    """(seconds, peak RSS MB) of a ``flask`` command that only builds the app (``flask routes``)."""
    command = [str(ROOT / ".venv/bin/flask"), "--app", "marketplace", "routes"]
    _run_child(command, _flask_env(url))  # compiles and caches the bytecode
    seconds, rss, _err = _run_child(command, _flask_env(url))
    return seconds, rss


def measure(url: str, contracts: int) -> list[ExportCase]:
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            mine, ref = Path(tmp) / f"{kind}.csv", Path(tmp) / f"{kind}-reference.csv"
            _psql(url, kind, ref)  # warms the cache for both
            reference = min(_psql(url, kind, ref) for _ in range(scale.REFERENCE_REPEAT))
            runs = [_cli(url, kind, mine) for _ in range(scale.EXPORT_REPEAT)]
            seconds = min(s for s, _r in runs)
            rss = max(r for _s, r in runs)
            case = ExportCase(
                kind, contracts, seconds, rss, _rows(mine), mine.stat().st_size, reference, _rows(ref)
            )
            print(
                f"[exports] {contracts:,} contracts, {kind}: {seconds:.2f} s vs \\copy {reference:.2f} s "
                f"(×{case.ratio:.1f}), peak RSS {rss:.0f} MB, {case.rows:,} rows ({case.reference_rows:,} "
                "by the reference)",
                file=sys.stderr,
            )
            cases.append(case)
    return cases


def report(results: dict[int, list[ExportCase]], start: tuple[float, float] | None) -> tuple[str, str]:
    sizes = sorted(results)
    intro = (
        "`make bench` (bench/exports.py, issue 16 goal 2) on PostgreSQL: `flask export contracts --format csv "
        "--kind KIND --out FILE` in its own process (wall time with start-up, bytecode cached as when installed; "
        "peak RSS = `ru_maxrss` of that process alone, `os.wait4` in a small forking wrapper) against `psql \\copy (SELECT …) TO FILE` of the same rows (same joins, "
        f"aggregates, time zone and order: bench/exports.py) in the same run; best of {scale.EXPORT_REPEAT} "
        f"export run(s) and {scale.REFERENCE_REPEAT} reference runs. Each contract (bench/loaders.py) has its tender, bid and award, "
        f"{scale.MILESTONES_PER_CONTRACT} milestones, a payment, two service records in different months and "
        f"four audit events. Goal at {sizes[-1]:,} contracts: time ratio ≤ {GOAL_RATIO:g} and peak RSS < "
        f"{GOAL_RSS_MB:.0f} MB."
    )
    lines = [
        "| contracts | kind | rows | size | export s | `\\copy` s | ratio | ratio less start-up | peak RSS MB "
        "| goal met |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size in sizes:
        for c in results[size]:
            ok = ("yes" if c.met() else "NO") if size == sizes[-1] else "—"
            less = f"×{c.ratio_without(start[0]):.1f}" if start else "—"
            lines.append(
                f"| {size:,} | {c.kind} | {c.rows:,} | {c.size / 2**20:.1f} MiB | {c.seconds:.2f} | "
                f"{c.reference_seconds:.2f} | ×{c.ratio:.1f} | {less} | {c.max_rss_mb:.0f} | {ok} |"
            )
    if start:
        lines += [
            "",
            f"Of the export's time, {start[0]:.2f} s is the command's start-up (`flask routes`: imports and "
            f"the app, peak RSS {start[1]:.0f} MB), which `psql` does not have.",
        ]
    if len(sizes) > 1:
        lines += ["", "Growth from the smaller to the larger size (time per contract should stay flat):", ""]
        for kind in KINDS:
            small = next(c for c in results[sizes[0]] if c.kind == kind)
            large = next(c for c in results[sizes[-1]] if c.kind == kind)
            lines.append(
                f"- {kind}: ×{large.seconds / small.seconds:.1f} time (reference ×"
                f"{large.reference_seconds / small.reference_seconds:.1f}) for ×{sizes[-1] / sizes[0]:.0f} "
                f"contracts; peak RSS {small.max_rss_mb:.0f} → {large.max_rss_mb:.0f} MB."
            )
    return intro, "\n".join(lines)
