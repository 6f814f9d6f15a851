"""``flask backup create | verify | restore`` (marketplace/backup.py): a round trip of the demo on
SQLite everywhere and on PostgreSQL when TEST_DATABASE_URL is set, then ``audit verify`` and the
stored files' digests on the restored copy; and the refusals (a database with tables, a corrupted
archive), which write nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from marketplace import create_app
from marketplace.backup import libpq_connection
from marketplace.core import documents
from marketplace.extensions import db as _db
from tests.conftest import PG_URL

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FILE_A = b"%PDF-1.4 service plan\n"
FILE_B = b"%PDF-1.4 delivery record\n"


@contextmanager
def _app(url: str, root: Path):
    """An app of its own on ``url``, with its own upload folder and published-heads folder."""
    root.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": True,
            "UPLOAD_FOLDER": str(root / "uploads"),
            "AUDIT_HEADS_DIR": str(root / "audit-heads"),
            "BABEL_DEFAULT_LOCALE": "en",
            "LOG_LEVEL": "WARNING",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        try:
            yield app
        finally:
            _db.session.remove()
            _db.engine.dispose()


def _invoke(app, *args):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        _db.session.remove()
        return result


def _seeded_backup(url: str, root: Path) -> Path:
    """Migrate and seed the demo at ``url``, store two files, and back it all up; returns the archive."""
    with _app(url, root) as source:
        upgrade()
        result = _invoke(source, "seed", "demo")
        assert result.exit_code == 0, result.output
        for data in (FILE_A, FILE_B):
            documents.write_bytes(data)
        result = _invoke(source, "backup", "create", "--out", str(root / "backups"))
        assert result.exit_code == 0, result.output
    (archive,) = (root / "backups").glob("backup-*Z.tar")
    return archive


def _check_restored(archive: Path, url: str, root: Path) -> None:
    with _app(url, root) as restored:
        result = _invoke(restored, "backup", "restore", str(archive))
        assert result.exit_code == 0, result.output
        result = _invoke(restored, "audit", "verify")
        assert result.exit_code == 0, result.output
        assert "audit chain OK" in result.output
        users = _db.session.execute(sa.text("SELECT count(*) FROM users")).scalar()
        assert users > 0  # the demo's accounts came back
        manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())
        digests = {entry["sha256"] for entry in manifest["files"].values()}
        assert {hashlib.sha256(FILE_A).hexdigest(), hashlib.sha256(FILE_B).hexdigest()} <= digests
        for member, entry in manifest["files"].items():
            stored = root / member
            assert documents.file_sha256(stored) == entry["sha256"]
            assert stored.stat().st_size == entry["size"]
        assert (
            manifest["alembic_revision"]
            == _db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        )


def _corrupt(archive: Path, tmp_path: Path) -> Path:
    """The same archive with one stored file altered (the manifest left as it was)."""
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
        names = tar.getnames()
    victim = next(unpacked / n for n in names if n.startswith("uploads/"))
    victim.write_bytes(victim.read_bytes() + b"x")
    corrupted = tmp_path / "corrupted.tar"
    with tarfile.open(corrupted, "w") as tar:
        for name in names:
            tar.add(unpacked / name, arcname=name, recursive=False)
    return corrupted


# --- SQLite: runs everywhere ---------------------------------------------------------------------------


def test_sqlite_round_trip_restores_the_demo_with_its_chain_and_files(tmp_path):
    archive = _seeded_backup(f"sqlite:///{tmp_path / 'src' / 'db.sqlite3'}", tmp_path / "src")
    assert _invoke_verify(archive).exit_code == 0
    _check_restored(archive, f"sqlite:///{tmp_path / 'dst' / 'db.sqlite3'}", tmp_path / "dst")


def _invoke_verify(archive: Path):
    with _app(f"sqlite:///{archive.parent / 'unused.sqlite3'}", archive.parent / "verify") as app:
        return _invoke(app, "backup", "verify", str(archive))


def test_restore_refuses_a_database_with_tables_and_a_corrupted_archive(tmp_path):
    source_url = f"sqlite:///{tmp_path / 'src' / 'db.sqlite3'}"
    archive = _seeded_backup(source_url, tmp_path / "src")

    with _app(source_url, tmp_path / "src") as busy:
        result = _invoke(busy, "backup", "restore", str(archive))
    assert result.exit_code == 1
    assert "already has" in result.output and "empty database" in result.output

    corrupted = _corrupt(archive, tmp_path)
    verify = _invoke_verify(corrupted)
    assert verify.exit_code == 1 and "does not match its SHA-256" in verify.output
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    verify = _invoke_verify(truncated)
    assert verify.exit_code == 1 and "Error:" in verify.output
    target = tmp_path / "dst"
    with _app(f"sqlite:///{target / 'db.sqlite3'}", target) as app:
        result = _invoke(app, "backup", "restore", str(corrupted))
        assert result.exit_code == 1 and "corrupted" in result.output
        assert sa.inspect(_db.engine).get_table_names() == []  # nothing written
    assert not (target / "uploads").exists() or not any((target / "uploads").rglob("*"))


def test_restore_refuses_to_overwrite_a_stored_file_with_other_content(tmp_path):
    archive = _seeded_backup(f"sqlite:///{tmp_path / 'src' / 'db.sqlite3'}", tmp_path / "src")
    manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())
    member = next(iter(manifest["files"]))
    clash = tmp_path / "dst" / member
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"something else")
    with _app(f"sqlite:///{tmp_path / 'dst' / 'db.sqlite3'}", tmp_path / "dst") as app:
        result = _invoke(app, "backup", "restore", str(archive))
        assert result.exit_code == 1 and "different content" in result.output
        assert sa.inspect(_db.engine).get_table_names() == []
    assert clash.read_bytes() == b"something else"


def test_the_password_stays_off_the_command_line():
    url, env = libpq_connection("postgresql+psycopg://app:s3cret@db.example:5432/marketplace?sslmode=require")
    assert "s3cret" not in url and url.startswith("postgresql://app@db.example:5432/marketplace")
    assert env["PGPASSWORD"] == "s3cret"


# --- PostgreSQL --------------------------------------------------------------------------------------


@pytest.fixture
def fresh_pg_databases():
    """Two new, empty PostgreSQL databases (source and restore target), dropped afterwards."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: the PostgreSQL backup round trip needs it")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("createdb")):
        pytest.skip("pg_dump, pg_restore or createdb is not installed")
    base = make_url(PG_URL)
    names = [f"backup_test_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("src", "dst")]
    server, env = libpq_connection(base.set(database="postgres").render_as_string(hide_password=False))
    for name in names:
        subprocess.run(["createdb", f"--maintenance-db={server}", name], env=env, check=True)
    try:
        yield [base.set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        for name in names:
            subprocess.run(
                ["dropdb", "--if-exists", f"--maintenance-db={server}", name], env=env, check=False
            )


def test_postgres_round_trip_restores_the_demo_into_a_fresh_database(tmp_path, fresh_pg_databases):
    source_url, target_url = fresh_pg_databases
    archive = _seeded_backup(source_url, tmp_path / "src")
    manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())
    assert manifest["database"]["member"] == "database.dump"
    _check_restored(archive, target_url, tmp_path / "dst")

    with _app(source_url, tmp_path / "src") as busy:
        result = _invoke(busy, "backup", "restore", str(archive))
    assert result.exit_code == 1 and "already has" in result.output
