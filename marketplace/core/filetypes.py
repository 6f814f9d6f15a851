"""What an uploaded file is, decided by its content: never by the client's name or Content-Type.

A purpose (tender documents, certificates, bid attachments, delivery evidence, contract documents)
accepts a set of types, named by their usual extensions (``{"pdf", "png", "jpg", "jpeg"}``). The
content decides the type:

- PDF and images: the ``filetype`` package's magic numbers.
- Office Open XML (docx, xlsx) and OpenDocument (odt, ods) are zip containers: the zip is opened and
  its ``[Content_Types].xml`` (OOXML) or ``mimetype`` entry (OpenDocument) names the document; any
  other zip (a macro-enabled docm/xlsm, a presentation, an archive) is not a document we accept.
- Legacy Word and Excel files (doc, xls) are OLE2 compound files: the compound-file signature, with
  the name's extension telling which of the two it is.
- Plain text (txt): no signature; valid UTF-8 or GB 18030 with no control character but tab, CR, LF
  and form feed.

The name's extension must agree with the detected type (a PDF named ``photo.png`` is refused), so a
downloaded file opens in the program its name promises. The stored and served type is the detected
one.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

import filetype


@dataclass(frozen=True)
class Kind:
    name: str  # the canonical extension
    mime: str
    extensions: frozenset[str]


def _kind(name: str, mime: str, *extensions: str) -> Kind:
    return Kind(name, mime, frozenset(extensions or (name,)))


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        _kind("pdf", "application/pdf"),
        _kind("png", "image/png"),
        _kind("jpg", "image/jpeg", "jpg", "jpeg"),
        _kind("doc", "application/msword"),
        _kind("xls", "application/vnd.ms-excel"),
        _kind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        _kind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        _kind("odt", "application/vnd.oasis.opendocument.text"),
        _kind("ods", "application/vnd.oasis.opendocument.spreadsheet"),
        _kind("txt", "text/plain"),
    )
}

# The types a stored file may be served with; anything else (a row stored before the content decided
# the type) is served as application/octet-stream.
SERVED_TYPES = frozenset(k.mime for k in KINDS.values())

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_OOXML_MAIN = {
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
}
_ODF = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
}
_MANIFEST_LIMIT = 256 * 1024  # bytes read from a zip entry: a zip bomb cannot inflate past this
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MARKUP = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<", re.ASCII)


@dataclass(frozen=True)
class Detected:
    kind: Kind | None  # None: not a type this platform accepts
    description: str  # what it is, for a message ("application/x-msdownload", "zip archive")


def _zip_kind(data: bytes) -> Detected:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    kind = _ODF.get(entry.read(_MANIFEST_LIMIT).strip())
                return Detected(KINDS[kind] if kind else None, "OpenDocument")
            if "[Content_Types].xml" in names:
                with archive.open("[Content_Types].xml") as entry:
                    manifest = entry.read(_MANIFEST_LIMIT)
                found = {kind for main, kind in _OOXML_MAIN.items() if main in manifest}
                kind = found.pop() if len(found) == 1 else None
                return Detected(KINDS[kind] if kind else None, "Office Open XML")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError, ValueError, EOFError):
        return Detected(None, "damaged zip")
    return Detected(None, "zip archive")


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return not _TEXT_CONTROL.search(text)
    return False


def detect(data: bytes, extension: str = "") -> Detected:
    """The type of ``data``; ``extension`` (the name's, lower case) only tells doc from xls."""
    if data.startswith(_ZIP):
        return _zip_kind(data)
    if data.startswith(_OLE2):
        kind = extension if extension in ("doc", "xls") else None
        return Detected(KINDS[kind] if kind else None, "OLE2 compound file")
    guess = filetype.guess(data)
    if guess is not None:
        kind = {"pdf": "pdf", "png": "png", "jpg": "jpg"}.get(guess.extension)
        return Detected(KINDS[kind] if kind else None, guess.mime)
    if _is_text(data):
        if _MARKUP.match(data[:1024]):  # HTML, SVG or XML is not plain text a browser may render
            return Detected(None, "text/html")
        return Detected(KINDS["txt"], "text/plain")
    return Detected(None, "application/octet-stream")


def accepted(kind: Kind, allowed: set[str]) -> bool:
    """``kind`` is one of the ``allowed`` types (named by extensions)."""
    return bool(kind.extensions & {a.lower() for a in allowed})


def served_type(content_type: str | None) -> str:
    """The Content-Type a stored file is served with: its detected type, else octet-stream."""
    return content_type if content_type in SERVED_TYPES else "application/octet-stream"
