"""Background exports: requested on the web, written by a task (in-process after the request's commit,
or by an RQ worker on Redis), shown with their progress, fetched only by the auditor who asked, and
deleted with their file by the expire-exports job; every step an audit event."""

from __future__ import annotations

import io
import json
import os
import socket
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from marketplace import clock
from marketplace.audit import export_tasks, export_worker
from marketplace.audit.export_columns import EXPORT_KINDS
from marketplace.audit.export_tasks import ExportTask
from marketplace.audit.models import AuditEvent
from marketplace.auth import services as auth_services
from marketplace.extensions import db
from marketplace.jobs.runner import run_job
from tests.test_history import delivered_contract

REDIS = ("127.0.0.1", 6379)


@pytest.fixture(autouse=True)
def _export_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(tmp_path / "exports"))
    return tmp_path / "exports"


@pytest.fixture
def scene(world, db):
    contract, _org, _member = delivered_contract(world)
    db.session.commit()
    return contract


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def _task(location: str) -> ExportTask:
    task_id = int(location.rstrip("/").rsplit("/", 1)[-1])
    # The test's session may have begun its savepoint before the request made its own inside it: end
    # it, so that a later rollback here (a task, a job) does not undo the request's work.
    db.session.commit()
    return db.session.get(ExportTask, task_id)


def _request(client, url: str):
    r = client.post(url)
    assert r.status_code == 303, r.status_code
    return r.headers["Location"]


def test_an_xlsx_export_goes_from_request_to_download_by_its_owner(app, client, login_as, scene, world):
    auditor = login_as("auditor")
    location = _request(client, f"/auditor/contracts/export.xlsx?agency={world['agency'].id}")
    task = _task(location)
    # Run in this process right after the request's commit: done by the time the page is asked for.
    assert task.owner_id == auditor.id and task.format == "xlsx" and task.status == "done"
    assert task.filters == {"agency": world["agency"].id, "lang": "en"}  # the asker's language (the client's)
    assert task.progress_done == task.progress_total == len(EXPORT_KINDS)  # one contract, every sheet
    path = export_tasks.file_of(task)
    assert path.is_file() and task.size == path.stat().st_size > 0
    assert path.parent == Path(app.config["EXPORT_FOLDER"]) and "static" not in path.parts
    assert task.expires_at == task.finished_at + timedelta(hours=app.config["EXPORT_RETENTION_HOURS"])

    page = client.get(location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Refresh" not in page.headers
    assert task.download_name in text and f"/auditor/exports/{task.id}/download" in text
    listing = client.get("/auditor/exports").get_data(as_text=True)
    assert location in listing

    r = client.post(f"{location}/download", buffered=True)
    assert r.status_code == 200
    assert (
        r.headers["Content-Disposition"].startswith("attachment;")
        and task.download_name in (r.headers["Content-Disposition"])
    )
    book = load_workbook(io.BytesIO(r.data), read_only=True)
    assert book.sheetnames == list(EXPORT_KINDS)
    assert scene.reference in [row[1] for row in book["contracts"].iter_rows(values_only=True)]

    # The request, the completion and the download are audit events; the request is the export's own.
    [asked] = [e for e in _events("export.contracts") if e.changes.get("export_id") == task.id]
    assert asked.actor_id == auditor.id and asked.object_id == str(task.id)
    assert asked.changes["format"] == "xlsx" and asked.changes["via"] == "web"
    [done] = _events("export.completed")
    assert (
        done.actor_label == "system" and done.object_id == str(task.id) and done.changes["size"] == task.size
    )
    [fetched] = _events("export.downloaded")
    assert fetched.actor_id == auditor.id and fetched.object_id == str(task.id)


def test_only_the_auditor_who_asked_sees_the_export(app, client, login_as, scene, world):
    login_as("auditor")
    location = _request(client, "/auditor/contracts/export.json")
    download = f"{location}/download"
    second = auth_services.create_user(
        email="auditor2@example.org", role="auditor", password="auditor-password-2"
    )
    world["second_auditor"] = second
    db.session.commit()
    for who, status in (("second_auditor", 404), ("admin", 404), ("officer", 403), ("org_member", 403)):
        login_as(who)
        assert client.get(location).status_code == status, who
        r = client.post(download, buffered=True)
        assert r.status_code == status and b'"exported_at"' not in r.data, who
    with client.session_transaction() as sess:
        sess.clear()
    for r in (client.get(location), client.post(download)):
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
    assert _events("export.downloaded") == []
    login_as("auditor")
    r = client.post(download, buffered=True)
    assert r.status_code == 200 and json.loads(r.data)["contracts"][0]["id"] == scene.id


def test_a_small_csv_streams_and_a_large_one_goes_to_the_background(
    app, client, login_as, scene, monkeypatch
):
    login_as("auditor")
    r = client.post("/auditor/contracts/export.csv", buffered=True)
    assert r.status_code == 200 and r.data.startswith(b"\xef\xbb\xbf")
    monkeypatch.setitem(app.config, "EXPORT_STREAM_MAX_CONTRACTS", 0)
    location = _request(client, "/auditor/contracts/export.csv?kind=history")
    task = _task(location)
    assert (task.format, task.kind, task.status) == ("csv", "history", "done")
    assert task.download_name.startswith("contracts-history-") and task.download_name.endswith(".csv")
    r = client.post(f"{location}/download", buffered=True)
    assert r.status_code == 200 and "环节 Kind".encode() in r.data and scene.reference.encode() in r.data


def test_expiry_deletes_the_file_and_marks_the_export_expired(app, client, login_as, scene):
    login_as("auditor")
    location = _request(client, "/auditor/contracts/export.xlsx")
    task = _task(location)
    path = export_tasks.file_of(task)
    assert path.is_file()
    clock.advance(timedelta(hours=app.config["EXPORT_RETENTION_HOURS"], minutes=1))
    # Past its time the page says so before the job ran (GET never writes), and the file is refused.
    writes = []
    listener = lambda *a: writes.append(a[2]) if a[2].lstrip().upper().startswith("UPDATE") else None  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = client.get(location)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert page.status_code == 200 and "Expired" in page.get_data(as_text=True) and writes == []
    assert client.post(f"{location}/download").status_code == 404

    run = run_job("expire-exports")
    assert run.status == "ok" and run.details["expired"] == [task.id]
    task = _task(location)
    assert task.status == "expired" and task.file_path is None and not path.exists()
    [deleted] = _events("export.deleted")
    assert deleted.object_id == str(task.id) and deleted.actor_label == "system"
    assert run_job("expire-exports").changed == 0  # once each


def test_a_failing_export_is_recorded_and_leaves_no_file(app, client, login_as, scene, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_worker, "export_contracts", broken)
    login_as("auditor")
    location = _request(client, "/auditor/contracts/export.json")
    task = _task(location)
    assert task.status == "failed" and "disk full" in task.error and task.file_path is None
    assert list(Path(app.config["EXPORT_FOLDER"]).glob("*")) == []
    [failed] = _events("export.failed")
    assert failed.object_id == str(task.id)
    page = client.get(location)
    assert page.status_code == 200 and "could not be written" in page.get_data(as_text=True)
    assert client.post(f"{location}/download").status_code == 404


def test_a_task_runs_once(app, client, login_as, scene):
    login_as("auditor")
    task = _task(_request(client, "/auditor/contracts/export.json"))
    assert export_worker.run_export(task.id) == "done"  # already done: nothing happens again
    assert export_worker.run_export(999_999) == "missing"
    assert len(_events("export.completed")) == 1


def test_an_export_rolled_back_with_its_request_never_runs(app, db, world, scene):
    from marketplace.audit.filters import ContractFilter
    from marketplace.core import tasks

    with app.test_request_context():
        task = export_tasks.request_export(ContractFilter(), "json", "contracts", world["auditor"])
        tasks.enqueue("marketplace.audit.export_worker:run_export", task.id)
        db.session.rollback()
        assert tasks.run_ready() == 0


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379: the RQ path is not tested")
def test_with_redis_the_export_is_queued_on_rq_and_a_worker_writes_it(
    app, client, login_as, scene, monkeypatch
):
    from marketplace.core import tasks

    queue_name = f"test-exports-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://{REDIS[0]}:{REDIS[1]}/15")
    monkeypatch.setitem(app.config, "EXPORT_QUEUE", queue_name)
    monkeypatch.setitem(app.config, "EXPORT_PROGRESS_SECONDS", 3600)  # this connection holds the rows
    login_as("auditor")
    try:
        location = _request(client, "/auditor/contracts/export.xlsx")
        task = _task(location)
        assert task.status == "queued"
        queue = tasks.rq_queue(queue_name)
        assert queue.count == 1 and queue.jobs[0].args == (task.id,)
        page = client.get(location)
        assert page.headers["Refresh"] == "2" and "Waiting for a worker" in page.get_data(as_text=True)

        # RQ's SimpleWorker in this process (what `flask export worker --burst` runs), in this app context.
        tasks.work([queue_name], burst=True)
        task = _task(location)
        assert task.status == "done" and queue.count == 0
        assert os.path.getsize(export_tasks.file_of(task)) == task.size
        r = client.post(f"{location}/download", buffered=True)
        assert r.status_code == 200
        assert load_workbook(io.BytesIO(r.data), read_only=True).sheetnames == list(EXPORT_KINDS)
    finally:
        queue = tasks.rq_queue(queue_name)
        queue.empty()
        queue.delete(delete_jobs=True)


def test_the_worker_command_needs_redis(app):
    r = app.test_cli_runner().invoke(args=["export", "worker", "--burst"])
    assert r.exit_code == 2 and "REDIS_URL" in r.output
