"""``flask backup create | verify | restore``: one archive of the database and the upload folder.

The archive is a ``.tar`` named with the UTC time (``backup-20261202T151500Z.tar``) holding:

- ``database.dump`` (PostgreSQL, ``pg_dump --format=custom``) or ``database.sqlite3`` (SQLite, copied
  through SQLite's online backup API, so a running development server is no obstacle);
- ``uploads/<storage key>``: every stored file;
- ``manifest.json``: the SHA-256 and size of every member, the alembic revision, the time and the
  application version.

Consistency: the database is dumped first (one snapshot), the upload folder copied after it. Stored
files are content-addressed and never rewritten (``core.documents.write_bytes``), so every file the
dump refers to is in the archive; a file uploaded meanwhile is an unreferenced extra, which the
orphan sweep removes after a restore.

Restore checks every digest before it writes anything, refuses a database that already has tables
and refuses to overwrite a stored file with different content (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.engine import URL, make_url

from marketplace.core.documents import HASH_CHUNK, file_sha256
from marketplace.extensions import db

FORMAT = "marketplace-backup/1"
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
UPLOADS = "uploads"


class BackupError(Exception):
    """A backup or restore refused, with a message for the operator; nothing was written."""


# --- helpers -----------------------------------------------------------------------------------------


def _entry(path: Path) -> dict:
    return {"sha256": file_sha256(path), "size": path.stat().st_size}


def _is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def libpq_connection(database_url: str) -> tuple[str, dict]:
    """(libpq URL without the password, environment with PGPASSWORD): the password never goes on a
    command line, where ``ps`` would show it."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = URL.create(  # ``url.set(password=None)`` would keep the password
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    )
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _table_names(database_url: str) -> list[str]:
    url = make_url(database_url)
    if not _is_postgres(url) and not _sqlite_path(url).exists():
        return []  # an absent SQLite file is an empty database (not created here)
    engine = sa.create_engine(database_url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _alembic_revision(database_url: str) -> str | None:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    except sa.exc.DBAPIError:
        return None
    finally:
        engine.dispose()
    return ",".join(sorted(rows)) or None


def _app_version() -> str:
    try:
        return metadata.version("marketplace")
    except metadata.PackageNotFoundError:
        return "unknown"


def _run(argv: list[str], env: dict, what: str) -> None:
    try:
        # argv is a fixed program with our own arguments, never a shell string
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as exc:
        raise BackupError(f"{argv[0]} is not installed (needed to {what})") from exc
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} failed ({what}): {result.stderr.strip()[-2000:]}")


# --- create ------------------------------------------------------------------------------------------


def _dump_database(database_url: str, target_dir: Path) -> str:
    url = make_url(database_url)
    if _is_postgres(url):
        libpq_url, env = libpq_connection(database_url)
        out = target_dir / PG_DUMP
        _run(
            ["pg_dump", "--format=custom", f"--file={out}", f"--dbname={libpq_url}"], env, "dump the database"
        )
        return PG_DUMP
    source_path = _sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"no SQLite database at {source_path}")
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(target_dir / SQLITE_COPY)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()
    return SQLITE_COPY


def _copy_uploads(upload_folder: Path, target_dir: Path) -> dict[str, dict]:
    files: dict[str, dict] = {}
    if not upload_folder.is_dir():
        return files
    for path in sorted(upload_folder.rglob("*")):
        if not path.is_file() or path.suffix == ".part":  # .part: a write in progress
            continue
        relative = path.relative_to(upload_folder).as_posix()
        copy = target_dir / UPLOADS / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
        files[f"{UPLOADS}/{relative}"] = _entry(copy)  # the digest of what was archived
    return files


def archive_name(now: datetime) -> str:
    return f"backup-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar"


def create_backup(database_url: str, upload_folder: Path, out: Path) -> Path:
    """Write the archive; ``out`` is a directory (the archive is named with the UTC time) or a path
    ending in ``.tar``. Returns the archive's path."""
    now = datetime.now(UTC)  # the real time of the backup, not the application's clock
    archive = out if out.suffix == ".tar" else out / archive_name(now)
    if archive.exists():
        raise BackupError(f"{archive} already exists")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.parent) as tmp:
        work = Path(tmp)
        database_member = _dump_database(database_url, work)
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "app_version": _app_version(),
            "alembic_revision": _alembic_revision(database_url),
            "database": {
                "backend": make_url(database_url).get_backend_name(),
                "member": database_member,
                **_entry(work / database_member),
            },
            "files": _copy_uploads(upload_folder, work),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), "utf-8")
        partial = archive.with_suffix(".tar.part")
        with tarfile.open(partial, "w") as tar:
            for member in [MANIFEST, database_member, *manifest["files"]]:
                tar.add(work / member, arcname=member, recursive=False)
        partial.replace(archive)
    return archive


# --- verify ------------------------------------------------------------------------------------------


@dataclass
class Checked:
    """An archive unpacked into a temporary directory and checked against its manifest."""

    root: Path
    manifest: dict


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _expected(manifest: dict) -> dict[str, dict]:
    """Every member the manifest lists (the database and the stored files), with its digest."""
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown archive format {manifest.get('format')!r}")
    database = manifest["database"]
    if database["member"] not in (PG_DUMP, SQLITE_COPY):
        raise BackupError(f"unknown database member {database['member']!r}")
    for name in manifest["files"]:
        if not (name.startswith(UPLOADS + "/") and _safe_name(name)):
            raise BackupError(f"the manifest lists an unsafe file name {name!r}")
    return {database["member"]: database, **manifest["files"]}


def _matches(handle, entry: dict) -> bool:
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    return size == entry["size"] and digest.hexdigest() == entry["sha256"]


def _corrupted(member: str) -> BackupError:
    return BackupError(f"{member} does not match its SHA-256 in the manifest: the archive is corrupted")


def verify_backup(archive: Path) -> dict:
    """Check every member of the archive against its manifest, reading it as a stream (nothing is
    unpacked); raise BackupError at the first problem. Returns the manifest."""
    if not archive.is_file():
        raise BackupError(f"no archive at {archive}")
    try:
        with tarfile.open(archive, "r") as tar:
            members = {}
            for member in tar.getmembers():
                if not (_safe_name(member.name) and member.isfile()):
                    raise BackupError(f"the archive holds an unsafe member {member.name!r}")
                members[member.name] = member
            if MANIFEST not in members:
                raise BackupError("the archive has no manifest.json")
            try:
                manifest = json.loads(tar.extractfile(members.pop(MANIFEST)).read())
                expected = _expected(manifest)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise BackupError(f"the archive's manifest cannot be read: {exc!r}") from exc
            if extra := sorted(set(members) - set(expected)):
                raise BackupError(
                    f"the archive holds files its manifest does not list: {', '.join(extra[:5])}"
                )
            for name, entry in expected.items():
                if name not in members:
                    raise BackupError(f"the archive lacks {name}, listed in its manifest")
                if not _matches(tar.extractfile(members[name]), entry):
                    raise _corrupted(name)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"the archive cannot be read: {exc}") from exc
    return manifest


def _unpack(archive: Path, into: Path) -> Checked:
    """Check the archive, unpack it, and check the unpacked copies again (what is restored is what
    was checked)."""
    manifest = verify_backup(archive)
    try:
        with tarfile.open(archive, "r") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"the archive cannot be read: {exc}") from exc
    for name, entry in _expected(manifest).items():
        with (into / name).open("rb") as handle:
            if not _matches(handle, entry):
                raise _corrupted(name)
    return Checked(into, manifest)


# --- restore -----------------------------------------------------------------------------------------


def _upload_plan(checked: Checked, upload_folder: Path) -> list[tuple[Path, Path]]:
    """(source, target) for each file to copy; refuses an existing target with other content."""
    plan = []
    for member, entry in checked.manifest["files"].items():
        target = upload_folder / PurePosixPath(member).relative_to(UPLOADS)
        if target.exists():
            if file_sha256(target) != entry["sha256"]:
                raise BackupError(f"{target} exists with different content; nothing was restored")
            continue
        plan.append((checked.root / member, target))
    return plan


def _restore_database(checked: Checked, database_url: str) -> None:
    url = make_url(database_url)
    database = checked.manifest["database"]
    if _is_postgres(url) != (database["member"] == PG_DUMP):
        raise BackupError(
            f"the archive holds a {database['backend']} database; the target is {url.get_backend_name()}"
        )
    source = checked.root / database["member"]
    if _is_postgres(url):
        libpq_url, env = libpq_connection(database_url)
        # One transaction: a restore that fails leaves the database as empty as it was.
        argv = [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={libpq_url}",
        ]
        argv.append(str(source))
        _run(argv, env, "restore the database")
        return
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def restore_backup(archive: Path, database_url: str, upload_folder: Path) -> dict:
    """Restore into an empty database and the upload folder; returns the manifest. Every check (the
    digests, the empty database, the stored files) is made before anything is written."""
    scratch = upload_folder.parent if upload_folder.parent.is_dir() else None  # room for the unpacked copy
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        checked = _unpack(archive, Path(tmp))
        tables = _table_names(database_url)
        if tables:
            raise BackupError(
                f"the target database already has {len(tables)} table(s) (e.g. {sorted(tables)[0]}); "
                "restore only into an empty database (createdb a new one)"
            )
        plan = _upload_plan(checked, upload_folder)
        _restore_database(checked, database_url)
        for source, target in plan:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        return checked.manifest


# --- the commands ------------------------------------------------------------------------------------

backup_cli = AppGroup("backup", help="Archive and restore the database and the uploads (docs/operations.md).")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@backup_cli.command("create")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="A directory, or a path ending in .tar."
)
def create_command(out: Path | None):
    """Write a backup archive (database and uploads, with a manifest of SHA-256s)."""
    config = current_app.config
    out = out or Path(current_app.instance_path) / "backups"
    try:
        archive = create_backup(config["SQLALCHEMY_DATABASE_URI"], Path(config["UPLOAD_FOLDER"]), out)
    except BackupError as exc:
        _fail(str(exc))
    manifest = verify_backup(archive)
    files, revision = len(manifest["files"]), manifest["alembic_revision"]
    click.echo(f"Backup written: {archive} ({files} stored files, revision {revision})")


@backup_cli.command("verify")
@click.argument("archive", type=click.Path(path_type=Path))
def verify_command(archive: Path):
    """Check an archive against its manifest without restoring it."""
    try:
        manifest = verify_backup(archive)
    except BackupError as exc:
        _fail(str(exc))
    click.echo(
        f"Backup OK: {archive}, made {manifest['created_at']}, revision {manifest['alembic_revision']}, "
        f"{len(manifest['files'])} stored files"
    )


@backup_cli.command("restore")
@click.argument("archive", type=click.Path(path_type=Path))
def restore_command(archive: Path):
    """Restore an archive into the configured (empty) database and the upload folder."""
    config = current_app.config
    db.session.remove()
    db.engine.dispose()  # SQLite: no open connection on the file being written
    try:
        manifest = restore_backup(archive, config["SQLALCHEMY_DATABASE_URI"], Path(config["UPLOAD_FOLDER"]))
    except BackupError as exc:
        _fail(str(exc))
    files, revision = len(manifest["files"]), manifest["alembic_revision"]
    click.echo(
        f"Restored {archive}: revision {revision}, {files} stored files. "
        "Run `flask audit verify` next (with the same AUDIT_CHAIN_KEY and AUDIT_HEAD_SIGNING_KEY)."
    )
