"""Uploaded documents: size and type checks, SHA-256, content-addressed storage."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from marketplace.core.errors import RuleViolation

_SAFE = re.compile(r"[^\w.\-\u4e00-\u9fff ]+")


@dataclass
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str

    def columns(self) -> dict:
        """The columns every document table shares (filename, type, size, SHA-256, storage key)."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "storage_key": self.storage_key,
        }


def send(document):
    """Send a stored document row as a download; 404 when its file is missing from storage."""
    from flask import abort, send_file

    path = path_for(document.storage_key)
    if not path.exists():
        abort(404)
    return send_file(
        path, mimetype=document.content_type, as_attachment=True, download_name=document.filename
    )


def clean_filename(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    name = _SAFE.sub("_", name)[:200]
    return name or "document"


def storage_root() -> Path:
    root = Path(current_app.config["UPLOAD_FOLDER"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def store(file_storage, allowed: set[str] | None = None, max_bytes: int | None = None) -> StoredFile:
    """Validate and store an uploaded file; the storage key is its SHA-256 (same bytes, one copy)."""
    allowed = allowed or current_app.config["ALLOWED_DOCUMENT_EXTENSIONS"]
    max_bytes = max_bytes or current_app.config["MAX_CONTENT_LENGTH"]
    filename = clean_filename(file_storage.filename)
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in allowed:
        raise RuleViolation(
            _(
                "File type .%(ext)s is not accepted. Accepted: %(types)s",
                ext=ext or "?",
                types=", ".join(sorted(allowed)),
            ),
            field="documents",
        )
    data = file_storage.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RuleViolation(
            _("The file %(name)s is larger than the limit.", name=filename), field="documents"
        )
    if not data:
        raise RuleViolation(_("The file %(name)s is empty.", name=filename), field="documents")
    digest = hashlib.sha256(data).hexdigest()
    path = storage_root() / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return StoredFile(
        filename=filename,
        content_type=file_storage.mimetype or "application/octet-stream",
        size=len(data),
        sha256=digest,
        storage_key=f"{digest[:2]}/{digest}",
    )


def path_for(storage_key: str) -> Path:
    return storage_root() / storage_key
