"""Every request has an id (returned, on every log record it makes) and a JSON log line in production,
with the secrets of links redacted from its path (issue 18; ASVS 7.1.1)."""

import io
import json
import logging

import pytest

from marketplace.core import request_log

SECRET = "s3cr3t-Token-0123456789abcdef"


@pytest.fixture
def json_lines(caplog, monkeypatch):
    """What the request logger writes, formatted as production's JSON lines."""
    caplog.set_level(logging.INFO, logger="marketplace.request")
    # The migrations' logging.config.fileConfig (run by the app fixture) disables existing loggers.
    monkeypatch.setattr(logging.getLogger("marketplace.request"), "disabled", False)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(request_log.json_formatter())
    logger = logging.getLogger("marketplace.request")
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        logger.removeHandler(handler)


def test_every_response_carries_a_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first and second and first != second
    assert request_log.SAFE_ID.fullmatch(first)


def test_a_safe_inbound_id_is_kept_and_an_unsafe_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "proxy-id.0042_abcd"}).headers["X-Request-ID"] == (
        "proxy-id.0042_abcd"
    )
    for unsafe in ("a b c d e f g h", "<script>alert(1)</script>", "x" * 200, "short", "id\\n-forged"):
        returned = client.get("/healthz", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
        assert returned != unsafe
        assert request_log.SAFE_ID.fullmatch(returned)


def test_json_lines_carry_the_request_fields(client, json_lines):
    response = client.get("/healthz?x=1", headers={"X-Request-ID": "req-0123456789"})
    assert response.status_code == 200
    (line,) = [entry for entry in json_lines() if entry.get("path") == "/healthz"]
    assert line["request_id"] == "req-0123456789"
    assert line["method"] == "GET" and line["status"] == 200
    assert line["level"] == "INFO" and line["logger"] == "marketplace.request"
    assert isinstance(line["duration_ms"], float) and line["time"]
    assert "user_id" in line and "x=1" not in json.dumps(line)


def test_any_record_made_during_a_request_has_its_id(app, caplog):
    from flask import g

    caplog.set_level(logging.INFO, logger="marketplace.test_request_id")
    with app.test_request_context("/healthz", headers={"X-Request-ID": "inbound-0123456789"}):
        app.preprocess_request()
        logging.getLogger("marketplace.test_request_id").info("inside")
        assert g.request_id == "inbound-0123456789"
    logging.getLogger("marketplace.test_request_id").info("outside")
    assert [r.request_id for r in caplog.records if r.name == "marketplace.test_request_id"] == [
        "inbound-0123456789",
        None,
    ]


@pytest.mark.parametrize(
    "path", [f"/auth/verify/{SECRET}", f"/auth/reset/{SECRET}", f"/orgs/invitations/{SECRET}"]
)
def test_link_secrets_never_reach_the_log(client, json_lines, path):
    client.get(path)
    lines = json_lines()
    assert any(entry["path"] == path.replace(SECRET, "[redacted]") for entry in lines)
    assert SECRET not in json.dumps(lines)


def test_json_format_installs_one_json_handler(app):
    from pythonjsonlogger.json import JsonFormatter

    root = logging.getLogger()
    app.config["LOG_FORMAT"] = "json"
    try:
        request_log.configure_logging(app)
        request_log.configure_logging(app)  # a second app in the same process: still one handler
        ours = [h for h in root.handlers if getattr(h, "_marketplace_json", False)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
    finally:
        app.config["LOG_FORMAT"] = "text"
        for handler in [h for h in root.handlers if getattr(h, "_marketplace_json", False)]:
            root.removeHandler(handler)
