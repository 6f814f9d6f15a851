"""Export memory: how much a contract export grows the process's peak resident memory (Linux VmHWM) at 2,000 and at 20,000 contracts.

The data set is inserted in bulk: per contract a tender, its winning bid and award, three milestones
(one accepted), a payment, two service records in different months and three audit events (publication,
opening, signature), so every sheet and the history have rows. 2,000 contracts belong to one agency (the
filtered export); the unfiltered export covers all of them. Flat means the peak hardly grows with
ten times the rows: rows are read in keyset batches and written as they come.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

N_CONTRACTS = int(os.environ.get("BENCH_CONTRACTS", "20000"))
N_SMALL = max(1, N_CONTRACTS // 10)
CHUNK = 5000


def _insert(table, rows: list[dict]) -> None:
    from marketplace.extensions import db

    for i in range(0, len(rows), CHUNK):
        db.session.execute(table.insert(), rows[i : i + CHUNK])


def populate(app) -> int:
    """Bulk-insert the data set; returns the id of the agency holding ``N_SMALL`` contracts."""
    from flask_migrate import upgrade

    from marketplace.audit.export_columns import EXPORT_KINDS  # noqa: F401 - fail early if the module breaks
    from marketplace.audit.models import AuditEvent
    from marketplace.auth import services as auth_services
    from marketplace.contracts.models import Contract, Milestone, Payment, ServiceRecord
    from marketplace.core import districts
    from marketplace.extensions import db
    from marketplace.orgs.models import Organization
    from marketplace.tenders.bids.models import Bid
    from marketplace.tenders.committee.models import Award
    from marketplace.tenders.models import Tender

    with app.app_context():
        upgrade()
        districts.load(districts.demo_rows())
        small = auth_services.create_agency(name="朝阳区民政局 Bench small agency", district_code="110101")
        large = auth_services.create_agency(name="海淀区民政局 Bench large agency", district_code="110101")
        officer = auth_services.create_user(
            email="bench-export@example.org", role="officer", password="bench-password-1", agency=small
        )
        now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
        orgs = []
        for k in range(20):
            org = Organization(
                name=f"阳光社会工作服务中心{k}号 Sunshine social work centre {k}",
                uscc=f"52110101MJ{k:07d}X",
                org_type="social_service_agency",
                registration_authority="东城区民政局",
                registered_district_code="110101",
                founded_on=date(2015, 5, 1),
                legal_representative="张三",
                contact_person="李四",
                phone="010-1",
                email=f"bench-org{k}@example.org",
                categories=["elderly_care"],
                annual_inspection="qualified",
                status="verified",
                submitted_at=now,
                verified_at=now,
            )
            db.session.add(org)
            orgs.append(org)
        db.session.commit()
        tenders, bids, awards, contracts, milestones, payments, records, events = ([] for _ in range(8))
        day = date(2026, 3, 10)
        for i in range(1, N_CONTRACTS + 1):
            agency = small if i <= N_SMALL else large
            org = orgs[i % len(orgs)]
            value = Decimal(200000 + (i * 37) % 300000)
            title = f"居家养老上门服务项目 {i} Home care {i}"
            signed = now + timedelta(minutes=i % 1000)
            tenders.append(
                dict(
                    id=i,
                    reference=f"110101-2025-{i:06d}",
                    title=title,
                    description="为辖区老人提供上门服务",
                    category="elderly_care",
                    agency_id=agency.id,
                    district_code="110101",
                    method="public_tender",
                    evaluation_method="comprehensive_scoring",
                    budget_ceiling=value + 10000,
                    funding_sources=["county_budget"],
                    contract_term_months=12,
                    eligibility="",
                    reserved_for_small=False,
                    bid_deadline=now - timedelta(days=40),
                    contact_name="",
                    contact_phone="",
                    contact_email="",
                    not_excluded_confirmed=True,
                    status="awarded",
                    published_at=now - timedelta(days=70),
                    created_by_id=officer.id,
                    created_at=now,
                    updated_at=now,
                )
            )
            bids.append(
                dict(
                    id=i,
                    tender_id=i,
                    organization_id=org.id,
                    status="submitted",
                    price=value,
                    responses={},
                    declarations=[],
                    version=1,
                    submitted_at=now - timedelta(days=41),
                    needs_reconfirmation=False,
                    created_by_id=officer.id,
                    created_at=now,
                    updated_at=now,
                )
            )
            awards.append(
                dict(
                    id=i,
                    tender_id=i,
                    bid_id=i,
                    rank=1,
                    reason="",
                    status="final",
                    confirmed_by_id=officer.id,
                    published_at=now - timedelta(days=30),
                    notice_ends_at=now - timedelta(days=29),
                    challenge_deadline=now - timedelta(days=22),
                    final_at=now - timedelta(days=22),
                )
            )
            contracts.append(
                dict(
                    id=i,
                    reference=f"HT-{i:06d}",
                    tender_id=i,
                    award_id=i,
                    agency_id=agency.id,
                    organization_id=org.id,
                    title=title,
                    status="active",
                    original_value=value,
                    value=value,
                    term_start=day,
                    term_end=day + timedelta(days=364),
                    term_justification="",
                    scope="",
                    created_by_id=officer.id,
                    created_at=now,
                    officer_signed_at=signed,
                    officer_signed_by_id=officer.id,
                    org_signed_at=signed,
                    activated_at=signed,
                )
            )
            shares = (value * Decimal("0.3"), value * Decimal("0.3"), value * Decimal("0.4"))
            for p, amount in enumerate(shares):
                milestones.append(
                    dict(
                        contract_id=i,
                        position=p,
                        deliverable=f"第{p + 1}阶段 Stage {p + 1}",
                        kind="delivery",
                        due_date=day + timedelta(days=30 + 150 * p),
                        amount=amount.quantize(Decimal("0.01")),
                        is_final=p == 2,
                        status="accepted" if p == 0 else "pending",
                        met_on=day + timedelta(days=29) if p == 0 else None,
                    )
                )
            payments.append(
                dict(
                    contract_id=i,
                    paid_on=day + timedelta(days=33),
                    amount=shares[0].quantize(Decimal("0.01")),
                    reference=f"GK-{i:06d}",
                    recorded_at=signed + timedelta(days=33),
                    recorded_by_id=officer.id,
                )
            )
            for m in range(2):
                records.append(
                    dict(
                        contract_id=i,
                        service_date=day + timedelta(days=5 + 31 * m),
                        activity_type="home_visit",
                        quantity=Decimal("4"),
                        beneficiaries=4,
                        hours=Decimal("6.5"),
                        notes="",
                        recorded_at=signed + timedelta(days=6 + 31 * m),
                        recorded_by_id=officer.id,
                    )
                )
            for action, obj, at, summary in (
                (
                    "tender.publish",
                    "tender",
                    now - timedelta(days=70),
                    f"published tender 110101-2025-{i:06d}",
                ),
                ("tender.open_bids", "tender", now - timedelta(days=40), "opened 3 bid(s)"),
                ("contract.sign", "contract", signed, "signed for the agency"),
            ):
                events.append(
                    dict(
                        occurred_at=at,
                        actor_id=officer.id,
                        actor_label=officer.email,
                        action=action,
                        object_type=obj,
                        object_id=str(i if obj == "tender" else i),
                        summary=summary,
                        tender_id=i,
                    )
                )
        for model, rows in (
            (Tender, tenders),
            (Bid, bids),
            (Award, awards),
            (Contract, contracts),
            (Milestone, milestones),
            (Payment, payments),
            (ServiceRecord, records),
            (AuditEvent, events),
        ):
            _insert(model.__table__, rows)
        db.session.commit()
        return small.id


def _measure(database_url: str, fmt: str, kind: str, agency_id: int | None) -> tuple[float, float, int]:
    """(peak RSS growth in MiB, seconds, bytes written) of one export to a temporary file, run in a
    fresh process so each measurement starts from the same baseline."""
    import json
    import subprocess

    args = [
        sys.executable,
        "-m",
        "bench.export_memory",
        "--measure",
        database_url,
        fmt,
        kind,
        str(agency_id or 0),
    ]
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["mib"], result["seconds"], result["size"]


def _child(database_url: str, fmt: str, kind: str, agency_id: int) -> None:
    import json

    import openpyxl  # noqa: F401 - imported before the baseline, like in a running server

    from marketplace import create_app
    from marketplace.audit.exports import export_contracts
    from marketplace.audit.filters import ContractFilter

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "LOG_LEVEL": "WARNING"})
    with app.app_context(), tempfile.TemporaryFile() as out:
        # Reset the kernel's high-water mark so the peak is the export's, not the start-up's (Linux).
        Path("/proc/self/clear_refs").write_text("5")
        baseline = _status("VmRSS")
        t0 = time.perf_counter()
        export_contracts(ContractFilter(agency_id=agency_id or None), fmt, out, kind)
        seconds = time.perf_counter() - t0
        peak = _status("VmHWM")
        print(json.dumps({"mib": (peak - baseline) / 1024, "seconds": seconds, "size": out.tell()}))


def _status(field_name: str) -> int:
    """A /proc/self/status memory field, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/self/status")


CASES = [("csv", "contracts"), ("csv", "history"), ("json", "contracts"), ("xlsx", "contracts")]
# BENCH_EXPORT_MEMORY_FORMATS=csv leaves out JSON and XLSX (a small run: XLSX alone takes a while).
FORMATS = os.environ.get("BENCH_EXPORT_MEMORY_FORMATS", "csv,json,xlsx").split(",")


def run(database_url: str, label: str) -> list[tuple]:
    from marketplace import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    t0 = time.perf_counter()
    small = populate(app)
    print(f"[{label}] loaded {N_CONTRACTS} contracts in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    results = []
    for fmt, kind in [(f, k) for f, k in CASES if f in FORMATS]:
        few = _measure(database_url, fmt, kind, small)
        many = _measure(database_url, fmt, kind, None)
        name = f"{fmt.upper()}" + (f" ({kind})" if fmt == "csv" else " (every kind)")
        print(f"[{label}] {name}: {few[0]:.1f} MiB → {many[0]:.1f} MiB", file=sys.stderr)
        results.append((label, name, few, many))
    return results


def lines(results: list[tuple]) -> list[str]:
    out = [
        "## Export memory",
        "",
        f"`make bench` (bench/export_memory.py): growth of the peak resident memory (VmHWM after the "
        f"high-water mark is reset, minus VmRSS just before; a fresh process per export) of one export written to a file, for {N_SMALL:,} contracts (one agency's, filtered) and for all {N_CONTRACTS:,}. Each contract has "
        "three milestones, a payment, two service records and three audit events. Target: flat, the growth "
        f"at {N_CONTRACTS:,} stays within 1.5 × that at {N_SMALL:,} + 5 MiB.",
        "",
        f"| database | export | MiB at {N_SMALL:,} | MiB at {N_CONTRACTS:,} | ratio | seconds at "
        f"{N_CONTRACTS:,} | size at {N_CONTRACTS:,} | flat |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, name, few, many in results:
        growth = many[0] / few[0] if few[0] else 0
        out.append(
            f"| {label} | {name} | {few[0]:.1f} | {many[0]:.1f} | ×{growth:.2f} | {many[1]:.1f} | "
            f"{many[2] / 2**20:.1f} MiB | {'yes' if _flat(few, many) else 'NO'} |"
        )
    out += [
        "",
        "Rows are read in keyset batches of 500 contracts (`id > last`) as plain column tuples, so neither",
        "the session's identity map nor a result list grows; CSV and JSON are written chunk by chunk (the web",
        "download streams them), XLSX through openpyxl's write-only mode (each sheet goes to a temporary file).",
    ]
    return out


def _flat(few, many) -> bool:
    return many[0] <= 1.5 * few[0] + 5


def flat(results: list[tuple]) -> bool:
    return all(_flat(few, many) for _label, _name, few, many in results)


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--measure":
        _child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        results = run(f"sqlite:///{Path(tmp) / 'export.sqlite3'}", "SQLite")
    print("\n".join(lines(results)))
    return 0 if flat(results) else 1


if __name__ == "__main__":
    sys.exit(main())
