"""The parties of a release: agencies by id and name, organizations by name and unified social credit
code only (both on their public registration certificate). Never people: no contact names, phone
numbers or emails, no legal representatives."""

from __future__ import annotations

from marketplace.ocds import mapping as m

BUYER_ROLES = ["buyer", "procuringEntity"]


def _address(district) -> dict | None:
    if district is None:
        return None
    return {"locality": district.name, "countryName": "中国"}


def _agency_id(agency) -> str:
    return f"agency-{agency.id}"


def _org_id(org) -> str:
    return f"{m.IDENTIFIER_SCHEME}-{org.uscc}"


def agency_party(agency, roles: list[str]) -> dict:
    return m.clean(
        {"id": _agency_id(agency), "name": agency.name, "address": _address(agency.district), "roles": roles}
    )


def org_party(org, roles: list[str]) -> dict:
    return m.clean(
        {
            "id": _org_id(org),
            "name": org.name,
            "identifier": {"scheme": m.IDENTIFIER_SCHEME, "id": org.uscc, "legalName": org.name},
            "address": _address(org.registered_district),
            "roles": roles,
        }
    )


def agency_ref(agency) -> dict:
    return {"id": _agency_id(agency), "name": agency.name}


def org_ref(org) -> dict:
    return {"id": _org_id(org), "name": org.name}
