"""Demo accounts: the two buying agencies in Dongcheng and one login per role.

Organization members (org1@example.org … org10@example.org) are made with their organizations in
:mod:`marketplace.demo.orgs`. Every demo account has the same published password.
"""

from __future__ import annotations

from marketplace.auth import opening_keys
from marketplace.auth import services as auth_services
from marketplace.auth.models import Agency, User

PASSWORD = "demo-password"  # noqa: S105 - published demo credential
# Every demo officer's opening key is locked by this published passphrase (docs/bidding.md).
OPENING_PASSPHRASE = "demo-opening-passphrase"  # noqa: S105 - published demo credential
COUNTY = "110101"  # Dongcheng: every demo agency, organization and tender is registered there

LOGINS = [
    ("officer@example.org", "officer", "东城区民政局 采购经办人 Procurement officer, Civil Affairs Bureau"),
    (
        "officer2@example.org",
        "officer",
        "东城区卫生健康委员会 采购经办人 Procurement officer, Health Commission",
    ),
    ("officer3@example.org", "officer", "东城区民政局 开标人 Opening officer, Civil Affairs Bureau"),
    ("member@example.org", "org_member", "社会组织成员 Organization member"),
    ("auditor@example.org", "auditor", "审计人员 Auditor"),
    ("admin@example.org", "admin", "平台管理员 Administrator"),
    ("grid1@example.org", "grid_worker", "网格员 Grid worker (four demo grids)"),
    ("grid2@example.org", "grid_worker", "网格员 Grid worker (four other demo grids)"),
] + [(f"expert{i}@example.org", "evaluator", f"评审专家 {i} Evaluator {i}") for i in range(1, 6)]
ORG_LOGINS = "org1@example.org … org10@example.org"
EXPERTS = [f"expert{i}@example.org" for i in range(1, 6)]


def load_accounts() -> tuple[dict[str, User], list[Agency]]:
    """The agencies (civil affairs first, then health) and one user per login, keyed by email."""
    civil = auth_services.create_agency(
        name="北京市东城区民政局", name_en="Dongcheng District Civil Affairs Bureau", district_code=COUNTY
    )
    health = auth_services.create_agency(
        name="北京市东城区卫生健康委员会",
        name_en="Dongcheng District Health Commission",
        district_code=COUNTY,
    )
    users = {}
    for email, role, name in LOGINS:
        agency = None
        if role == "officer":
            agency = health if email.startswith("officer2@") else civil
        users[email] = auth_services.create_user(
            email=email, role=role, password=PASSWORD, name=name, agency=agency
        )
        if role == "officer":  # each officer holds an opening key (the demo's passphrase is published)
            opening_keys.set_up(users[email], OPENING_PASSPHRASE)
    return users, [civil, health]
