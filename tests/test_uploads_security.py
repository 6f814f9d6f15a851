"""Uploads (issue 17, item 5): the type decided by the content, an allow-list per purpose, downloads
as attachments with the detected type and nosniff, orphan files swept, an optional clamd scan that
fails closed."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
import zipfile
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from marketplace import clock
from marketplace.core import documents, filetypes
from marketplace.core.errors import RuleViolation
from marketplace.core.orphans import sweep_orphans
from marketplace.tenders.bids.ceremony import contents
from marketplace.tenders.bids.submission import ATTACHMENT_TYPES
from marketplace.tenders.models import Tender, TenderDocument
from tests import factories
from tests.test_tender_pages import form_data

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
HTML = b"<html><script>alert(document.cookie)</script></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _ooxml(main: str) -> bytes:
    types = f'<Types><Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
    return _zip({"[Content_Types].xml": types.encode(), "word/document.xml": b"<w:document/>"})


DOCX = _ooxml("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
DOCM = _ooxml("application/vnd.ms-word.document.macroEnabled.main+xml")


def _xlsx() -> bytes:
    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


def _upload(name: str, data: bytes, content_type: str = "application/pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type=content_type)


@pytest.mark.parametrize(
    "name, data, mime",
    [
        ("a.pdf", PDF, "application/pdf"),
        ("a.png", PNG, "image/png"),
        ("a.jpeg", JPEG, "image/jpeg"),
        ("a.jpg", JPEG, "image/jpeg"),
        ("a.docx", DOCX, filetypes.KINDS["docx"].mime),
        ("a.xlsx", _xlsx(), filetypes.KINDS["xlsx"].mime),
        ("a.doc", OLE2, "application/msword"),
        ("说明.txt", "招标说明\r\n第二行\tend".encode(), "text/plain"),
    ],
)
def test_type_comes_from_the_content_not_the_client(db, name, data, mime):
    filename, content_type, stored = documents.read_upload(_upload(name, data, "text/html"))
    assert (filename, content_type, stored) == (name, mime, data)


@pytest.mark.parametrize(
    "name, data, allowed, says",
    [
        ("page.pdf", HTML, None, "not an accepted type"),  # HTML named as a PDF
        ("setup.pdf", EXE, None, "not an accepted type"),
        ("macro.docx", DOCM, None, "not an accepted type"),  # macro-enabled, not a docx
        ("archive.docx", _zip({"a.txt": b"x"}), None, "not an accepted type"),
        ("photo.png", PDF, None, "but its content is pdf"),  # the extension must agree
        ("binary.txt", b"abc\x00\x01def", None, "not an accepted type"),
        ("sheet.xlsx", _xlsx(), {"pdf", "png", "jpg", "jpeg"}, "Accepted: jpeg, jpg, pdf, png"),
        ("a.exe", EXE, None, "File type .exe is not accepted"),
    ],
)
def test_refused_with_the_accepted_types(db, name, data, allowed, says):
    with pytest.raises(RuleViolation) as refused:
        documents.read_upload(_upload(name, data), allowed)
    assert says in str(refused.value)
    assert "Accepted:" in str(refused.value) or "rename it" in str(refused.value)


def test_tender_document_with_wrong_content_saves_nothing(client, login_as, db):
    login_as("officer")
    data = form_data()
    data["documents"] = [(io.BytesIO(HTML), "招标文件.pdf")]
    r = client.post("/tenders/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 400 and b"not an accepted type" in r.data and b"Accepted: " in r.data
    assert db.session.scalar(select(func.count()).select_from(Tender)) == 0


def test_download_is_an_attachment_with_the_detected_type(client, login_as, db):
    login_as("officer")
    data = form_data()
    data["documents"] = [(io.BytesIO(PDF), "招标 文件.pdf", "text/html")]
    assert client.post("/tenders/new", data=data, content_type="multipart/form-data").status_code == 302
    tender = db.session.scalars(select(Tender)).one()
    (doc,) = tender.documents
    assert doc.content_type == "application/pdf"
    got = client.get(f"/tenders/{tender.id}/documents/{doc.id}")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%8B%9B%E6%A0%87%20%E6%96%87%E4%BB%B6.pdf" in disposition


def test_a_row_stored_with_a_client_type_is_served_as_octet_stream(client, login_as, db):
    login_as("officer")
    data = form_data()
    data["documents"] = [(io.BytesIO(PDF), "old.pdf")]
    client.post("/tenders/new", data=data, content_type="multipart/form-data")
    doc = db.session.scalars(select(TenderDocument)).one()
    doc.content_type = "text/html"  # as a row stored before the content decided the type
    db.session.flush()
    got = client.get(f"/tenders/{doc.tender_id}/documents/{doc.id}")
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_sealed_attachment_is_checked_before_encryption(db, world):
    tender = factories.published(world["officer"])
    assert contents.is_sealed_tender(tender)
    with pytest.raises(RuleViolation):
        contents.store_attachment(tender, _upload("plan.pdf", HTML), ATTACHMENT_TYPES)
    stored = contents.store_attachment(tender, _upload("plan.pdf", PDF, "text/html"), ATTACHMENT_TYPES)
    assert stored.content_type == "application/pdf" and stored.storage_key.startswith("sealed/")
    assert documents.path_for(stored.storage_key).read_bytes() != PDF  # encrypted after the check


# --- the orphan sweep ------------------------------------------------------------------------------


def _age(key: str, hours: float) -> None:
    path = documents.path_for(key)
    when = (clock.now() - timedelta(hours=hours)).timestamp()
    os.utime(path, (when, when))


def test_sweep_deletes_old_files_no_row_refers_to(client, login_as, db):
    login_as("officer")
    data = form_data()
    data["documents"] = [(io.BytesIO(PDF + b"kept"), "kept.pdf")]
    client.post("/tenders/new", data=data, content_type="multipart/form-data")
    kept = db.session.scalars(select(TenderDocument)).one().storage_key
    # A form that failed after storing its file: the file stays, no row refers to it.
    data = form_data(title="")
    data["documents"] = [(io.BytesIO(PDF + b"orphan"), "orphan.pdf")]
    assert client.post("/tenders/new", data=data, content_type="multipart/form-data").status_code == 400
    orphan = documents.write_bytes(PDF + b"orphan")  # the same bytes: the same key
    young = documents.write_bytes(PDF + b"young")
    stranger = documents.storage_root() / "ab" / "notes.txt"
    stranger.parent.mkdir(parents=True, exist_ok=True)
    stranger.write_text("not the store's")
    for key in (kept, orphan, "ab/notes.txt"):
        _age(key, 48)
    result = sweep_orphans(clock.now(), hours=24)
    assert orphan in result["deleted"] and result["changed"] >= 1
    assert not documents.path_for(orphan).exists()
    assert documents.path_for(kept).exists() and documents.path_for(young).exists() and stranger.exists()
    stranger.unlink()


def test_reused_file_is_fresh_again(db):
    key = documents.write_bytes(PDF + b"reused")
    _age(key, 48)
    documents.write_bytes(PDF + b"reused")  # stored again by a request not committed yet
    assert key not in sweep_orphans(clock.now(), hours=24)["deleted"]
    assert documents.path_for(key).exists()


# --- clamd -----------------------------------------------------------------------------------------


class FakeClamd:
    """A unix-socket server speaking clamd's INSTREAM: FOUND when the stream holds EICAR."""

    def __init__(self, path: str):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        self.scanned: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read(self, conn, n: int) -> bytes:
        data = b""
        while len(data) < n:
            part = conn.recv(n - len(data))
            if not part:
                raise ConnectionError
            data += part
        return data

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                assert self._read(conn, 10) == b"zINSTREAM\0"
                stream = b""
                while size := int.from_bytes(self._read(conn, 4), "big"):
                    stream += self._read(conn, size)
                self.scanned.append(stream)
                found = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in stream
                conn.sendall(b"stream: Eicar-Test-Signature FOUND\0" if found else b"stream: OK\0")

    def close(self):
        self.server.close()


@pytest.fixture
def clamd(app, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("clamd") / "clamd.sock")
    server = FakeClamd(path)
    app.config["CLAMD_SOCKET"] = path
    yield server
    app.config["CLAMD_SOCKET"] = None
    server.close()


EICAR_PDF = PDF + b"%X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n"


def test_clean_file_passes_the_scan(db, clamd):
    big = PDF + b"x" * 200_000  # several INSTREAM chunks
    assert documents.read_upload(_upload("ok.pdf", big))[2] == big
    assert clamd.scanned[-1] == big


def test_infected_file_is_refused(client, login_as, db, clamd):
    login_as("officer")
    data = form_data()
    data["documents"] = [(io.BytesIO(EICAR_PDF), "infected.pdf")]
    r = client.post("/tenders/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 400 and b"the virus scanner found Eicar-Test-Signature" in r.data
    assert db.session.scalar(select(func.count()).select_from(Tender)) == 0


def test_unreachable_clamd_fails_closed(app, db, tmp_path):
    app.config["CLAMD_SOCKET"] = str(tmp_path / "nobody-listens.sock")
    try:
        with pytest.raises(RuleViolation) as refused:
            documents.read_upload(_upload("ok.pdf", PDF))
    finally:
        app.config["CLAMD_SOCKET"] = None
    assert "could not be checked for viruses" in str(refused.value)


def test_sealed_attachment_is_scanned_in_plain(db, world, clamd):
    tender = factories.published(world["officer"])
    started = time.monotonic()
    with pytest.raises(RuleViolation):
        contents.store_attachment(tender, _upload("plan.pdf", EICAR_PDF), ATTACHMENT_TYPES)
    assert clamd.scanned[-1] == EICAR_PDF and time.monotonic() - started < 10
