"""The bench harness still fits the code it measures (``make bench`` itself never runs in CI)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import assets, load, loaders, search


def test_the_loaded_catalogue_is_found_by_the_search(tmp_path):
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    ids = loaders.prepare(url)
    loaders.load_tenders(url, 0, 40, ids)
    loaders.load_tenders(url, 40, 80, ids)  # a larger catalogue adds to a smaller one
    app = loaders.bench_app(url)
    client = app.test_client()
    for name, path, params in search.SEARCHES + search.EXTRA:
        assert client.get(search.url_of(path, params), headers=load.HEADERS).status_code == 200, name
    # 助 is in most titles or descriptions: the search must list tenders (its index is filled).
    page = client.get(search.url_of("/tenders", {"q": "助"}), headers=load.HEADERS)
    assert search.RESULT_LINK.search(page.data)


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - the handler's name
        body = b"ok" if self.path == "/ok" else b"no"
        self.send_response(200 if self.path == "/ok" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_load_generator_counts_requests_and_errors():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        ok = load.run(base, "/ok", seconds=0.4, concurrency=2, warmup=0.1)
        missing = load.run(base, "/missing", seconds=0.2, concurrency=1, warmup=0)
    finally:
        server.shutdown()
    assert ok.requests > 10 and ok.errors == 0 and ok.p50 <= ok.p99
    assert missing.requests > 0 and missing.errors == missing.requests


def test_warm_visits_use_only_assets_fresh_for_an_hour():
    def fetch(cache_control: str) -> assets.Fetch:
        return assets.Fetch("/a", 200, 100, 80, "gzip", cache_control, '"x"', "", "text/css")

    assert fetch("public, max-age=31536000, immutable").fresh_for(assets.WARM_AFTER)
    assert not fetch("public, max-age=300").fresh_for(assets.WARM_AFTER)
    assert not fetch("no-cache").fresh_for(assets.WARM_AFTER)
    assert not fetch("").fresh_for(assets.WARM_AFTER)
