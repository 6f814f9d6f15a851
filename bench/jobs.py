"""The flag-overdue job against one bare set-based UPDATE of the same rows (issue 16, goal 3).

On the contracts data set (bench/loaders.py: ``MILESTONES_PER_CONTRACT`` milestones per active
contract, exactly one per contract past due and not met: 1,000,000 milestones and 50,000 overdue at
full size), alternately:

- the reference: ``UPDATE milestones SET overdue_days = today - due_date WHERE`` (not accepted, past
  due, active contract, not already that number) and its COMMIT, on one connection;
- the job: ``marketplace.jobs.runner.run_job("flag-overdue")`` in a fresh process (the app built and
  prepared as the scheduler process does at its start, the kernel's high-water mark reset just before
  the run), which commits its own work: its time, its
  peak resident memory (VmHWM) and how much the run grew it. Besides the flags it writes one digest
  notification per person concerned (the agencies' officers and the organizations' members), not one
  per milestone, and its run record.

Between runs the milestones' flags and the job's notifications, runs and locks are reset and the
tables vacuumed, so every run starts from the same state. Best time of ``JOB_REPEAT`` each.

Goal at the largest size: the job within 1.5 × the reference's time, memory flat (the growth at the
largest size within 1.5 × that at the smallest + 5 MiB).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench import scale
from bench.loaders import pg_dsn
from bench.server import ROOT, server_env

GOAL_RATIO = 1.5
JOB = "flag-overdue"

REFERENCE_SQL = """
UPDATE milestones SET overdue_days = %(today)s::date - due_date
WHERE status <> 'accepted' AND due_date < %(today)s::date
  AND contract_id IN (SELECT id FROM contracts WHERE status = 'active')
  AND (overdue_days IS NULL OR overdue_days <> %(today)s::date - due_date)
"""


@dataclass
class JobCase:
    milestones: int
    overdue: int
    seconds: float
    reference_seconds: float
    flagged: int  # milestones flagged after the job (counted in the database)
    reference_flagged: int  # after the reference UPDATE
    notifications: int  # rows the job added to notifications
    status: str
    rss_mb: float  # the job process's peak resident memory
    growth_mb: float  # how much the run grew it (VmHWM after the run − VmRSS before)

    @property
    def ratio(self) -> float:
        return self.seconds / self.reference_seconds if self.reference_seconds else float("inf")


def _reset(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE milestones SET overdue_days = NULL, overdue_notified_on = NULL "
            "WHERE overdue_days IS NOT NULL OR overdue_notified_on IS NOT NULL"
        )
        conn.execute("DELETE FROM notifications")
        conn.execute("DELETE FROM job_runs")
        conn.execute("DELETE FROM job_locks")
        conn.execute("VACUUM ANALYZE milestones, notifications, job_runs, job_locks")


def _reference(dsn: str, today: date) -> tuple[float, int]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        start = time.perf_counter()
        conn.execute(REFERENCE_SQL, {"today": today})
        conn.commit()
        seconds = time.perf_counter() - start
    return seconds, _flagged(dsn)


def _flagged(dsn: str) -> int:
    """Milestones carrying an overdue flag now."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM milestones WHERE overdue_days IS NOT NULL").fetchone()[0]


def _notifications(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM notifications").fetchone()[0]


def _job(url: str) -> dict:
    args = [sys.executable, "-m", "bench.jobs", "--child"]
    env = server_env(url)
    env.setdefault(
        "AUDIT_CHAIN_KEY", "bench-audit-chain-key-not-for-production-0123456789"
    )  # production mode
    out = subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child() -> None:
    """Build the app as the scheduler process does, then run the job once (in this process)."""
    from marketplace import create_app
    from marketplace.jobs import scheduler
    from marketplace.jobs.runner import run_job

    app = create_app()
    with app.app_context():
        scheduler.prepare()  # once per scheduler process, at its start (the ORM's mappers)
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark (Linux)
        baseline = _status_kib("VmRSS")
        start = time.perf_counter()
        run = run_job(JOB)
        seconds = time.perf_counter() - start
        peak = _status_kib("VmHWM")
        print(
            json.dumps(
                {
                    "seconds": seconds,
                    "status": run.status,
                    "error": (run.error or "")[-1500:],
                    "changed": run.changed,
                    "rss_mb": peak / 1024,
                    "growth_mb": (peak - baseline) / 1024,
                }
            )
        )


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(url: str, counts: dict) -> JobCase:
    """``counts``: what bench.loaders.load_contracts returned (milestones, overdue, today)."""
    dsn = pg_dsn(url)
    today = counts["today"]
    references, runs = [], []
    for _ in range(scale.JOB_REPEAT):
        _reset(dsn)
        references.append(_reference(dsn, today))
        _reset(dsn)
        run = _job(url)
        if run["status"] != "ok":
            raise RuntimeError(f"{JOB} ended {run['status']}: {run['error']}")
        run.update(flagged=_flagged(dsn), notifications=_notifications(dsn))
        runs.append(run)
    _reset(dsn)
    best = min(runs, key=lambda r: r["seconds"])
    case = JobCase(
        milestones=counts["milestones"],
        overdue=counts["overdue"],
        seconds=best["seconds"],
        reference_seconds=min(s for s, _n in references),
        flagged=best["flagged"],
        reference_flagged=references[0][1],
        notifications=best["notifications"],
        status=best["status"],
        rss_mb=max(r["rss_mb"] for r in runs),
        growth_mb=max(r["growth_mb"] for r in runs),
    )
    print(
        f"[jobs] {case.milestones:,} milestones ({case.overdue:,} overdue): {JOB} {case.seconds:.2f} s vs "
        f"UPDATE {case.reference_seconds:.2f} s (×{case.ratio:.1f}); flagged {case.flagged:,} "
        f"(reference {case.reference_flagged:,}), {case.notifications:,} notifications; peak RSS "
        f"{case.rss_mb:.0f} MB, grown {case.growth_mb:.1f} MB",
        file=sys.stderr,
    )
    return case


def flat(cases: list[JobCase]) -> bool | None:
    """Whether the growth stays flat from the smallest size to the largest (None with one size)."""
    if len(cases) < 2:
        return None
    small, large = cases[0], cases[-1]
    return large.growth_mb <= 1.5 * small.growth_mb + 5


def goal_met(cases: list[JobCase]) -> bool:
    last = cases[-1]
    return last.ratio <= GOAL_RATIO and flat(cases) is not False and last.flagged == last.reference_flagged


def report(cases: list[JobCase]) -> tuple[str, str]:
    intro = (
        f'`make bench` (bench/jobs.py, issue 16 goal 3) on PostgreSQL: `run_job("{JOB}")` in a fresh process '
        "(as the scheduler runs it, committing its own work) against one bare set-based `UPDATE milestones SET "
        "overdue_days = today - due_date WHERE …` of the same rows and its COMMIT, in the same run, the flags, "
        "notifications and job runs reset and the tables vacuumed before every run; best of "
        f"{scale.JOB_REPEAT}. Memory: the job process's peak RSS (VmHWM) and its growth during the run "
        "(VmHWM after − VmRSS before, the high-water mark reset first). Goal at the largest size: time ratio ≤ "
        f"{GOAL_RATIO:g}, the same rows flagged, and memory flat (growth within 1.5 × that at the smallest "
        "size + 5 MiB)."
    )
    lines = [
        "| milestones | overdue | job s | `UPDATE` s | ratio | flagged (reference) | notifications | "
        "peak RSS MB | growth MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        lines.append(
            f"| {c.milestones:,} | {c.overdue:,} | {c.seconds:.2f} | {c.reference_seconds:.2f} | ×{c.ratio:.1f} | "
            f"{c.flagged:,} ({c.reference_flagged:,}) | {c.notifications:,} | {c.rss_mb:.0f} | {c.growth_mb:.1f} |"
        )
    flatness = {None: "not judged with one size", True: "yes", False: "NO"}[flat(cases)]
    lines += ["", f"Goal met: {'yes' if goal_met(cases) else 'NO'} (memory flat: {flatness})."]
    return intro, "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        _child()
    else:
        raise SystemExit("run through `python -m bench` (make bench)")
