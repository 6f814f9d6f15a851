"""Static assets (issue 16): hashed names, year-long immutable caching, gzip copies, a favicon, and a home
page that transfers under 120 KB (marketplace/core/assets.py)."""

from __future__ import annotations

import gzip
import hashlib
import re

import pytest
from flask import Flask, url_for

from marketplace.core import assets

GZIP = {"Accept-Encoding": "gzip"}
ASSET_URL = re.compile(r'<(?:link|script)\b[^>]*?\b(?:href|src)="([^"]+)"')
HASHED_NAME = re.compile(r"\.([0-9a-f]{12})\.\w+$")
YEAR_IMMUTABLE = "public, max-age=31536000, immutable"
HOME_PAGE_BUDGET = 120_000  # bytes on the wire, the page and everything it links


def _fetch(client, url: str, headers: dict | None = None):
    """Buffered, so the test client closes the response (WhiteNoise's open file) as a WSGI server does."""
    return client.get(url, headers=headers or {}, buffered=True)


def _body(response) -> bytes:
    data = response.get_data()
    return gzip.decompress(data) if response.headers.get("Content-Encoding") == "gzip" else data


def _home_asset_urls(client) -> list[str]:
    page = _fetch(client, "/", GZIP)
    assert page.status_code == 200
    return ASSET_URL.findall(_body(page).decode())


def test_the_home_page_links_every_asset_by_a_name_carrying_its_content_digest(client):
    urls = _home_asset_urls(client)
    assert [HASHED_NAME.sub("", url) for url in urls] == [  # the names without ".<digest>.<extension>"
        "/static/favicon",
        "/bootstrap/static/css/bootstrap.min",
        "/static/marketplace",
        "/bootstrap/static/umd/popper.min",
        "/bootstrap/static/js/bootstrap.min",
        "/static/page-actions",
        "/static/countdown",  # the deadline countdowns of the open tenders' list (issue 20)
    ], urls
    for url in urls:
        digest = HASHED_NAME.search(url).group(1)
        assert hashlib.sha256(_fetch(client, url).get_data()).hexdigest().startswith(digest), url


def test_a_hashed_asset_is_cached_for_a_year_and_never_revalidated(client):
    for url in _home_asset_urls(client):
        response = _fetch(client, url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == YEAR_IMMUTABLE, url


def test_a_client_that_accepts_gzip_gets_the_compressed_copy(client):
    stylesheet = next(u for u in _home_asset_urls(client) if u.startswith("/bootstrap/static/css/"))
    plain = _fetch(client, stylesheet)
    compressed = _fetch(client, stylesheet, GZIP)
    assert "Content-Encoding" not in plain.headers
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert compressed.headers["Vary"] == "Accept-Encoding"
    assert compressed.headers["Cache-Control"] == YEAR_IMMUTABLE
    assert len(compressed.get_data()) < len(plain.get_data()) / 4
    assert gzip.decompress(compressed.get_data()) == plain.get_data()


def test_a_plain_name_still_answers_but_is_cached_only_briefly(client):
    hashed = next(u for u in _home_asset_urls(client) if u.startswith("/static/marketplace."))
    response = _fetch(client, "/static/marketplace.css", GZIP)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert _body(response) == _body(_fetch(client, hashed))


def test_the_favicon_answers_at_the_site_root_and_in_the_page(client):
    icon = _fetch(client, "/favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype == "image/x-icon"
    assert icon.get_data().startswith(b"\x00\x00\x01\x00")  # an ICO header
    svg = next(u for u in _home_asset_urls(client) if u.endswith(".svg"))
    drawing = _fetch(client, svg)
    assert drawing.mimetype == "image/svg+xml"
    assert drawing.get_data().startswith(b"<svg")


def test_the_home_page_and_all_it_links_transfer_under_120_kb(client):
    page = _fetch(client, "/", GZIP)
    total = len(page.get_data())  # as sent: compressed when the response is
    for url in ASSET_URL.findall(_body(page).decode()):
        response = _fetch(client, url, GZIP)
        assert response.status_code == 200, url
        total += len(response.get_data())
    assert 50_000 < total < HOME_PAGE_BUDGET, total  # Bootstrap alone is ~55 KB gzipped


@pytest.mark.parametrize(
    "path",
    [
        "/static/no-such-file.css",
        "/static/marketplace.000000000000.css",
        "/bootstrap/static/css/bootstrap.min.000000000000.css",
        "/static/../marketplace/__init__.py",
    ],
)
def test_an_unknown_static_path_is_404(client, path):
    assert _fetch(client, path).status_code == 404


def test_the_cli_builds_the_assets(app):
    result = app.test_cli_runner().invoke(args=["assets", "build"])
    assert result.exit_code == 0, result.output
    assert "static files, hashed and compressed, in" in result.output


# --- the build, on a small app of its own ---------------------------------------------------------------


def _small_app(tmp_path, debug: bool = False, instance=None) -> Flask:
    static = tmp_path / "static"
    static.mkdir(exist_ok=True)
    if not (static / "site.css").exists():
        (static / "site.css").write_text("body { margin: 0; }\n" * 100)
        (static / "favicon.ico").write_bytes(b"\x00\x00\x01\x00" + b"\x00" * 60)
    app = Flask("small", static_folder=str(static), instance_path=str(instance or tmp_path / "instance"))
    app.config["DEBUG"] = debug
    assets.init_app(app)
    return app


def _stylesheet_url(app) -> str:
    with app.test_request_context():
        return url_for("static", filename="site.css")


def test_a_build_is_made_once_per_content(tmp_path):
    app = _small_app(tmp_path)
    first = _stylesheet_url(app)
    assert HASHED_NAME.search(first)
    builds = list((tmp_path / "instance" / "static-build").iterdir())
    assert len(builds) == 1
    manifest = builds[0] / assets.MANIFEST
    written = manifest.stat().st_mtime_ns

    assert _stylesheet_url(_small_app(tmp_path)) == first  # the same content: the same build, untouched
    assert manifest.stat().st_mtime_ns == written

    (tmp_path / "static" / "site.css").write_text("body { margin: 1px; }\n" * 100)
    changed = _small_app(tmp_path)
    assert _stylesheet_url(changed) != first
    assert len(list((tmp_path / "instance" / "static-build").iterdir())) == 2
    response = _fetch(changed.test_client(), _stylesheet_url(changed), GZIP)
    assert gzip.decompress(response.get_data()).startswith(b"body { margin: 1px; }")


def test_two_processes_building_the_same_content_at_once_share_one_build(tmp_path, monkeypatch):
    app = _small_app(tmp_path, debug=True)  # collects, builds nothing
    found = app.extensions["assets"]
    root = tmp_path / "builds"
    write = assets._write
    others: list = []

    def write_while_another_process_finishes_first(batch, folder):
        write(batch, folder)
        if not others:  # the other process's build, renamed into place before ours
            others.append(None)
            others[0] = assets.build(batch, root)

    monkeypatch.setattr(assets, "_write", write_while_another_process_finishes_first)
    assert assets.build(found, root) == others[0]
    assert [p.name for p in root.iterdir()] == [others[0].name]  # no scratch folder left behind


def test_debug_mode_serves_the_sources_as_they_are(tmp_path):
    app = _small_app(tmp_path, debug=True)
    assert _stylesheet_url(app) == "/static/site.css"
    assert not (tmp_path / "instance" / "static-build").exists()
    client = app.test_client()
    (tmp_path / "static" / "site.css").write_text("edited\n")
    assert _fetch(client, "/static/site.css").get_data() == b"edited\n"
    assert _fetch(client, "/favicon.ico").status_code == 200


def test_without_a_writable_instance_folder_the_plain_files_are_served(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = _small_app(tmp_path, instance=blocker)
    assert _stylesheet_url(app) == "/static/site.css"
    client = app.test_client()
    assert _fetch(client, "/static/site.css").status_code == 200
    assert _fetch(client, "/favicon.ico").status_code == 200
