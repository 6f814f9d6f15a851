"""The demo data set that ``make run`` loads into an empty database (``flask seed demo``).

Everything is created through the service verbs, stage by stage (accounts, organizations, tenders and
bids, openings and awards, contracts, performance), with the clock moved into the past where the
history needs it, so the demo has the same audit trail real use would produce.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from marketplace import clock
from marketplace.auth.models import User
from marketplace.core import districts
from marketplace.demo import accounts, awards, contracts, needs, obligations, performance, tenders
from marketplace.demo import redflags as red_flag_cases
from marketplace.demo.experts import load_expert_pool
from marketplace.demo.orgs import load_demo_orgs
from marketplace.extensions import db

# Organizations were registered (and reviewed) this long ago, before any demo tender.
ORGS_REGISTERED_AGO = timedelta(days=60)


def has_data() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def load_demo() -> dict:
    """Load every stage in the caller's transaction; returns what was made, for the CLI to print."""
    districts.load(districts.demo_rows())
    users, agencies = accounts.load_accounts()
    officer = users["officer@example.org"]
    experts = [users[email] for email in accounts.EXPERTS]
    previous_fixed = clock._fixed  # restore exactly what the caller had (tests freeze the clock)
    real_now = clock.now()
    try:
        clock.set_now(real_now - ORGS_REGISTERED_AGO)
        orgs = load_demo_orgs(officer)
        bidders = [o for o in orgs if o.status == "verified"]
        tender_stage = tenders.load_tenders(users, agencies[0], bidders, real_now)
        clock.set_now(real_now - ORGS_REGISTERED_AGO + timedelta(days=1))
        pool = load_expert_pool(users, agencies, tender_stage.closed[0], real_now)
        award_stage = awards.load_awards(tender_stage.closed, experts, real_now)
        awards.confirm_shares(real_now)
        contract_count = contracts.load_contracts(award_stage.to_contract, real_now)
        bond_count = obligations.load_obligations(award_stage.awarded, real_now)
        evaluation_count = performance.load_evaluations(experts, officer, real_now)
        red_flags = red_flag_cases.load_red_flag_cases(users, agencies[0], bidders, experts, real_now)
        need_count = needs.load_needs(users, agencies[0], real_now)
    finally:
        clock.set_now(previous_fixed)
    db.session.flush()
    return {
        "users": len(users),
        "agencies": len(agencies),
        "organizations": len(orgs),
        "experts": pool,
        "tenders": ", ".join(f"{v} {k}" for k, v in tender_stage.counts.items()),
        "bids": tender_stage.bids,
        "openings": award_stage.opened,
        "awards": len(award_stage.awarded),
        "awaiting a contract": award_stage.waiting_reference("awaiting_contract"),
        "awaiting evaluation": award_stage.waiting_reference("evaluating"),
        "contracts": contract_count,
        "bid bonds": bond_count,
        "evaluations": evaluation_count,
        "red flags": red_flags,
        "residents' needs": need_count,
    }


def logins_text() -> str:
    lines = ["", "Demo logins (password: demo-password):"]
    for email, role, name in accounts.LOGINS:
        lines.append(f"  {email:24} {role:11} {name}")
    lines.append(
        f"  {accounts.ORG_LOGINS:24} org_member  社会组织成员 (org1-7 verified, org8 pending, org9 asked "
        "for information, org10 debarred)"
    )
    lines.append("  expert6 … expert12@example.org  evaluator   评审专家 (the rest of the expert pool)")
    lines.append(f"Officers' opening-key passphrase (开标密钥口令): {accounts.OPENING_PASSPHRASE}")
    return "\n".join(lines) + "\n"
