"""Release packages and record packages of everything public (docs/ocds.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from flask import current_app, has_request_context, url_for
from sqlalchemy import Select, select

from marketplace import clock
from marketplace.extensions import db
from marketplace.ocds import mapping as m
from marketplace.ocds.merge import compile_releases
from marketplace.ocds.process import is_published, ocid_of, tender_id_of
from marketplace.ocds.releases import releases_for
from marketplace.tenders.models import PUBLIC_STATUSES, Tender

VERSION = "1.1"
POLICY_ENDPOINT = "transparency.ocds_policy"  # the publication policy page (package publicationPolicy)
BATCH = 100


def published_tenders_query() -> Select:
    """Every tender that was published (drafts never), in a stable order (by id)."""
    return (
        select(Tender)
        .where(Tender.status.in_(PUBLIC_STATUSES), Tender.published_at.is_not(None))
        .order_by(Tender.id)
    )


def tender_for_ocid(ocid: str) -> Tender | None:
    """The published tender an ocid names, or None (unknown, another publisher's, or a draft)."""
    tender_id = tender_id_of(ocid or "")
    if tender_id is None:
        return None
    tender = db.session.get(Tender, tender_id)
    return tender if is_published(tender) else None


def iter_published_tenders(batch: int | None = None) -> Iterator[Tender]:
    """All published tenders, loaded ``batch`` at a time (keyset pagination), so exports stay small in
    memory: the session's identity map holds unchanged rows weakly, so finished batches are freed."""
    batch, last = batch or BATCH, 0
    while True:
        rows = list(db.session.scalars(published_tenders_query().where(Tender.id > last).limit(batch)))
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def record_for(tender: Tender) -> dict | None:
    releases = releases_for(tender)
    if not releases:
        return None
    return {"ocid": ocid_of(tender), "releases": releases, "compiledRelease": compile_releases(releases)}


def _publisher() -> dict:
    publisher = {"name": current_app.config.get("OCDS_PUBLISHER_NAME") or "政府购买公共服务平台"}
    if current_app.config.get("OCDS_PUBLISHER_URI"):
        publisher["uri"] = current_app.config["OCDS_PUBLISHER_URI"]
    return publisher


def public_url(endpoint: str, **values) -> str | None:
    """The absolute URL of a page: from the request, or from ``PUBLIC_BASE_URL`` outside one (the CLI);
    None when neither gives a host."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base:
        return None
    return base + current_app.url_map.bind("localhost").build(endpoint, values)


def package_header(uri: str, published: datetime | str | None = None) -> dict:
    """The metadata of a package: ``publishedDate`` is ``published`` (the last change of what the package
    holds, so that the same content is the same package), else now."""
    if not isinstance(published, str):
        published = m.timestamp(published or clock.now())
    header = {"uri": uri, "version": VERSION, "publishedDate": published, "publisher": _publisher()}
    if current_app.config.get("OCDS_LICENSE"):
        header["license"] = current_app.config["OCDS_LICENSE"]
    policy = public_url(POLICY_ENDPOINT)
    if policy:
        header["publicationPolicy"] = policy
    return header


def _latest(dates: list[str]) -> str | None:
    """The latest of RFC 3339 dates (compared as instants: some carry +08:00)."""
    return max(dates, key=lambda d: datetime.fromisoformat(d.replace("Z", "+00:00")), default=None)


def release_package(releases: list[dict], uri: str, published=None, **extra) -> dict:
    published = published or _latest([r["date"] for r in releases])
    return {**package_header(uri, published), **extra, "releases": releases}


def record_package(records: list[dict], uri: str, published=None, **extra) -> dict:
    published = published or _latest([r["compiledRelease"]["date"] for r in records])
    return {**package_header(uri, published), **extra, "records": records}


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_package(out: IO[str], uri: str, records: bool = False, batch: int | None = None) -> int:
    """Write one release package (or record package) of every published tender to ``out``, a tender at
    a time. Returns the number of releases (or records) written."""
    header = _dumps(package_header(uri))
    key = "records" if records else "releases"
    out.write(header[:-1] + f',"{key}":[')
    count = 0
    for tender in iter_published_tenders(batch or BATCH):
        items = [record_for(tender)] if records else releases_for(tender)
        for item in items:
            if item is None:
                continue
            out.write(("," if count else "") + "\n" + _dumps(item))
            count += 1
    out.write("\n]}\n")
    return count
