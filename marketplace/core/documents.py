"""Uploaded documents: size and type checks, SHA-256, content-addressed storage."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.core import antivirus, filetypes
from marketplace.core.errors import RuleViolation
from marketplace.extensions import db

_SAFE = re.compile(r"[^\w.\-\u4e00-\u9fff ]+")


@dataclass
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str  # of the stored file (its ciphertext, when it is stored encrypted)
    storage_key: str
    # Stored encrypted (a sealed bid's attachment): the SHA-256 of the plain file, and its key wrapped by
    # the platform's key (core.keyring) while the bidder's draft may still read it.
    plain_sha256: str | None = None
    working_key: str | None = None

    def columns(self) -> dict:
        """The columns every document table shares (filename, type, size, SHA-256, storage key)."""
        columns = {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "storage_key": self.storage_key,
        }
        if self.working_key is not None:
            columns.update(plain_sha256=self.plain_sha256, working_key=self.working_key)
        return columns


def _as_download(response):
    """Every stored file goes out as an attachment with its detected type, never sniffed."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def send(document):
    """Send a stored document row as a download; 404 when its file is missing from storage.

    Served with its detected type (``filetypes.served_type``), ``nosniff`` and
    ``Content-Disposition: attachment`` (Werkzeug writes an RFC 6266 ``filename*`` for any name that
    is not plain ASCII)."""
    from flask import abort, send_file

    path = path_for(document.storage_key)
    if not path.exists():
        abort(404)
    return _as_download(
        send_file(
            path,
            mimetype=filetypes.served_type(document.content_type),
            as_attachment=True,
            download_name=clean_filename(document.filename),
        )
    )


def send_bytes(data: bytes, content_type: str, filename: str):
    """Send bytes held in memory (a decrypted document) as a download, as ``send`` does."""
    from io import BytesIO

    from flask import send_file

    return _as_download(
        send_file(
            BytesIO(data),
            mimetype=filetypes.served_type(content_type),
            as_attachment=True,
            download_name=clean_filename(filename),
        )
    )


def clean_filename(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    name = _SAFE.sub("_", name)[:200]
    return name or "document"


def storage_root() -> Path:
    root = Path(current_app.config["UPLOAD_FOLDER"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def _refuse(message: str) -> None:
    raise RuleViolation(message, field="documents")


def _accepted_list(allowed: set[str]) -> str:
    return ", ".join(sorted(allowed))


def read_upload(
    file_storage, allowed: set[str] | None = None, max_bytes: int | None = None
) -> tuple[str, str, bytes]:
    """Check an uploaded file: (clean filename, detected content type, bytes).

    ``allowed`` is the purpose's allow-list of types, named by extension. The type is decided by the
    content (``core.filetypes``), the name's extension must agree with it, and the file is scanned
    by clamd when ``CLAMD_SOCKET`` is set. The client's Content-Type is ignored."""
    allowed = allowed or current_app.config["ALLOWED_DOCUMENT_EXTENSIONS"]
    max_bytes = max_bytes or current_app.config["MAX_CONTENT_LENGTH"]
    filename = clean_filename(file_storage.filename)
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in allowed:
        _refuse(
            _(
                "File type .%(ext)s is not accepted. Accepted: %(types)s",
                ext=ext or "?",
                types=_accepted_list(allowed),
            )
        )
    data = file_storage.read(max_bytes + 1)
    if len(data) > max_bytes:
        _refuse(_("The file %(name)s is larger than the limit.", name=filename))
    if not data:
        _refuse(_("The file %(name)s is empty.", name=filename))
    detected = filetypes.detect(data, ext)
    if detected.kind is None or not filetypes.accepted(detected.kind, allowed):
        _refuse(
            _(
                "The content of %(name)s is not an accepted type (it is %(found)s). Accepted: %(types)s",
                name=filename,
                found=detected.kind.name if detected.kind else detected.description,
                types=_accepted_list(allowed),
            )
        )
    if ext not in detected.kind.extensions:
        _refuse(
            _(
                "The file %(name)s is named .%(ext)s but its content is %(found)s: rename it or choose "
                "another file.",
                name=filename,
                ext=ext,
                found=detected.kind.name,
            )
        )
    _scan(filename, data)
    return filename, detected.kind.mime, data


def _scan(filename: str, data: bytes) -> None:
    if not antivirus.enabled():
        return
    result = antivirus.scan(data)
    if result.clean:
        return
    if result.signature is not None:
        current_app.logger.warning("upload %s refused: clamd found %s", filename, result.signature)
        _refuse(
            _(
                "The file %(name)s was refused: the virus scanner found %(signature)s.",
                name=filename,
                signature=result.signature,
            )
        )
    current_app.logger.error("upload %s refused: %s", filename, result.error)
    _refuse(
        _(
            "The file %(name)s could not be checked for viruses just now, so it was not accepted. "
            "Try again later.",
            name=filename,
        )
    )


def write_bytes(data: bytes, storage_key: str | None = None) -> str:
    """Store ``data``; the storage key is its SHA-256 (same bytes, one copy) unless one is given."""
    if storage_key is None:
        digest = hashlib.sha256(data).hexdigest()
        storage_key = f"{digest[:2]}/{digest}"
    path = storage_root() / storage_key
    if path.exists():
        os.utime(path)  # used again: fresh, so the orphan sweep (core.orphans) leaves it alone
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return storage_key


def store(file_storage, allowed: set[str] | None = None, max_bytes: int | None = None) -> StoredFile:
    """Validate and store an uploaded file; the storage key is its SHA-256 (same bytes, one copy)."""
    filename, content_type, data = read_upload(file_storage, allowed, max_bytes)
    storage_key = write_bytes(data)
    return StoredFile(
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=storage_key.rsplit("/", 1)[-1],
        storage_key=storage_key,
    )


def path_for(storage_key: str) -> Path:
    return storage_root() / storage_key


# --- the stored files against their digests (``flask audit verify``) ---------------------------------

HASH_CHUNK = 1 << 20  # bytes read at a time: large archives are hashed in constant memory


def file_sha256(path: Path) -> str:
    """The SHA-256 of a stored file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class StoredFilesReport:
    """Every stored document row checked against its file: counts, and the first few problems."""

    checked: int = 0
    missing: int = 0
    altered: int = 0
    examples: list[str] = field(default_factory=list)  # "missing: <table> <id> <filename> (<key>)"

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered)


def document_tables() -> list:
    """Every table that holds stored documents: one with ``sha256`` and ``storage_key`` columns.

    Found from the metadata, so core names no domain model and a new document table is checked too."""
    return [
        table
        for table in db.metadata.sorted_tables
        if {"id", "sha256", "storage_key", "filename"} <= set(table.c.keys())
    ]


def _file_state(storage_key: str, sha256: str, seen: dict) -> str | None:
    """``None`` when the file is there with that digest, else ``missing`` or ``altered``."""
    key = (storage_key, sha256)
    if key not in seen:
        path = path_for(storage_key)
        if not path.is_file():
            seen[key] = "missing"
        else:
            seen[key] = None if file_sha256(path) == sha256 else "altered"
    return seen[key]


def verify_stored_files(batch_size: int = 1000, examples: int = 10) -> StoredFilesReport:
    """For every stored document row: its file exists and its SHA-256 matches the row's."""
    report, seen = StoredFilesReport(), {}
    for table in document_tables():
        last = 0
        while True:
            rows = db.session.execute(
                select(table.c.id, table.c.filename, table.c.sha256, table.c.storage_key)
                .where(table.c.id > last)
                .order_by(table.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            for row in rows:
                report.checked += 1
                state = _file_state(row.storage_key, row.sha256, seen)
                if state is not None:
                    setattr(report, state, getattr(report, state) + 1)
                    if len(report.examples) < examples:
                        report.examples.append(
                            f"{state}: {table.name} {row.id} {row.filename} ({row.storage_key})"
                        )
            last = rows[-1].id
    return report
