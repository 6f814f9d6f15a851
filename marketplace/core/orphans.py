"""Stored files that no row refers to: left by a form that failed after its upload was stored (the
transaction rolled back, the file stayed), or a sealed attachment's ciphertext replaced by its plain
file at the opening ceremony. The ``sweep-uploads`` job deletes them once older than
``UPLOAD_ORPHAN_HOURS``, so a file being stored by a request that has not committed yet is never
touched (``documents.write_bytes`` refreshes a reused file's time for the same reason).

Only names the document store writes are considered (``ab/<sha256>``, ``sealed/<hex>`` and their
``.part`` leftovers): nothing else in the folder is ever deleted.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from marketplace.core.documents import document_tables, storage_root
from marketplace.extensions import db

_KEY = re.compile(r"^(?:[0-9a-f]{2}/[0-9a-f]{64}|sealed/[0-9a-f]{32})(?:\.part)?$")


def referenced_keys() -> set[str]:
    keys: set[str] = set()
    for table in document_tables():
        keys.update(db.session.scalars(select(table.c.storage_key).distinct()))
    return keys


def sweep_orphans(now: datetime, hours: int | None = None) -> dict:
    """Delete the stored files older than ``hours`` that no document row refers to."""
    hours = current_app.config["UPLOAD_ORPHAN_HOURS"] if hours is None else hours
    cutoff = (now - timedelta(hours=hours)).timestamp()
    root = storage_root()
    candidates = []
    for path in root.glob("*/*"):
        key = path.relative_to(root).as_posix()
        if _KEY.match(key) and path.is_file() and path.stat().st_mtime < cutoff:
            candidates.append((key, path))
    if not candidates:
        return {"changed": 0, "deleted": []}
    keys = referenced_keys()
    deleted = []
    for key, path in candidates:
        if key in keys:
            continue
        try:
            if path.stat().st_mtime < cutoff:  # not reused since it was listed
                path.unlink()
                deleted.append(key)
        except FileNotFoundError:
            continue
    if deleted:
        current_app.logger.info("sweep-uploads deleted %d orphan files", len(deleted))
    return {"changed": len(deleted), "deleted": deleted[:10]}
