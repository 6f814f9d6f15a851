"""The home page's static assets as a browser gets them (issue 16, goal 4).

Against the bench's gunicorn (deploy/gunicorn.conf.py), like a browser with an empty cache: the home
page, then every asset it links (stylesheets, scripts, icons — one icon, as a browser picks one —,
images, and what the stylesheets reference with ``url()``), each asked with ``Accept-Encoding: gzip,
deflate, br``. *Cold transfer*: the bytes of the bodies as sent (compressed where the server
compressed them) plus the response headers.

*Warm*: the same visit ``WARM_AFTER`` (an hour) later with everything in the cache. An asset is used
from the cache without a request when its ``Cache-Control`` makes it fresh for that long (``max-age``
≥ an hour, or ``immutable``; never with ``no-cache``/``no-store``); any other is a request: a
revalidation (304 when the server honours ``If-None-Match``/``If-Modified-Since``, checked here) or a
download. The page itself is always asked again (a navigation) and is not counted.

Goal: cold transfer < 120 KB, 0 asset requests on the warm visit.
"""

from __future__ import annotations

import http.client
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from bench.load import HEADERS

GOAL_COLD_KB = 120
WARM_AFTER = 3600  # seconds between the cold visit and the warm one
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


@dataclass
class Fetch:
    path: str
    status: int
    wire_bytes: int  # headers + body as sent
    body_bytes: int
    encoding: str
    cache_control: str
    etag: str
    last_modified: str
    content_type: str

    def fresh_for(self, seconds: int) -> bool:
        directives = {
            d.strip().split("=", 1)[0].lower(): d.strip() for d in self.cache_control.split(",") if d.strip()
        }
        if "no-cache" in directives or "no-store" in directives:
            return False
        if "immutable" in directives:
            return True
        age = directives.get("max-age", "").split("=", 1)
        try:
            return len(age) == 2 and int(age[1]) >= seconds
        except ValueError:
            return False


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.icons: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        rel = (a.get("rel") or "").lower().split()
        if tag == "link" and a.get("href"):
            if "icon" in rel:
                self.icons.append((a["href"], a.get("type") or ""))
            elif {"stylesheet", "preload", "modulepreload", "manifest"} & set(rel):
                self.links.append(a["href"])
        elif tag in ("script", "img", "source") and a.get("src"):
            self.links.append(a["src"])


def _get(base: str, path: str, headers: dict | None = None) -> tuple[Fetch, bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", path, headers={**HEADERS, "Accept": "*/*", **(headers or {})})
        r = conn.getresponse()
        body = r.read()  # http.client does not decompress: these are the bytes sent
        head = sum(len(k) + len(v) + 4 for k, v in r.getheaders()) + 17
        fetch = Fetch(
            path,
            r.status,
            head + len(body),
            len(body),
            r.getheader("Content-Encoding", ""),
            r.getheader("Cache-Control", ""),
            r.getheader("ETag", ""),
            r.getheader("Last-Modified", ""),
            r.getheader("Content-Type", ""),
        )
        return fetch, body
    finally:
        conn.close()


def _decoded(fetch: Fetch, body: bytes) -> bytes:
    if fetch.encoding == "gzip":
        import gzip

        return gzip.decompress(body)
    if fetch.encoding == "br":
        import brotli

        return brotli.decompress(body)
    if fetch.encoding == "deflate":
        import zlib

        return zlib.decompress(body)
    return body


@dataclass
class AssetReport:
    page: Fetch
    assets: list[Fetch]
    warm_requests: list[tuple[Fetch, int]]  # (asset, status of the conditional request)

    @property
    def cold_bytes(self) -> int:
        return self.page.wire_bytes + sum(a.wire_bytes for a in self.assets)

    def met(self) -> bool:
        return self.cold_bytes < GOAL_COLD_KB * 1000 and not self.warm_requests


def measure(base: str) -> AssetReport:
    page, body = _get(base, "/")
    if page.status != 200:
        raise RuntimeError(f"home page: HTTP {page.status}")
    parser = _Links()
    parser.feed(_decoded(page, body).decode("utf-8", "replace"))
    icons = parser.icons
    icon = next((h for h, t in icons if "svg" in t), icons[0][0] if icons else "/favicon.ico")
    queue = [*parser.links, icon]
    seen, assets = set(), []
    while queue:
        link = urljoin(base + "/", queue.pop(0))
        if not link.startswith(base) or link.startswith("data:"):
            continue  # another origin (none expected: BOOTSTRAP_SERVE_LOCAL) or inline
        path = link[len(base) :]
        if path in seen:
            continue
        seen.add(path)
        fetch, raw = _get(base, path)
        assets.append(fetch)
        if "css" in fetch.content_type and fetch.status == 200:
            text = _decoded(fetch, raw).decode("utf-8", "replace")
            queue += [urljoin(link, u) for u in CSS_URL.findall(text) if not u.startswith("data:")]
    warm = []
    for a in assets:
        if a.fresh_for(WARM_AFTER):
            continue
        conditional = {}
        if a.etag:
            conditional["If-None-Match"] = a.etag
        if a.last_modified:
            conditional["If-Modified-Since"] = a.last_modified
        again, _ = _get(base, a.path, conditional)
        warm.append((a, again.status))
    report = AssetReport(page, assets, warm)
    print(
        f"[assets] cold {report.cold_bytes / 1000:.1f} KB in {1 + len(assets)} responses; warm: "
        f"{len(warm)} asset request(s)",
        file=sys.stderr,
    )
    return report


def report(r: AssetReport) -> tuple[str, str]:
    intro = (
        "`make bench` (bench/assets.py, issue 16 goal 4): the home page on the bench's gunicorn as a browser "
        "with an empty cache loads it (`Accept-Encoding: gzip, deflate, br`; every linked stylesheet, script, "
        "image, one icon and the stylesheets' `url()`s), then the same visit an hour later with everything "
        "cached: an asset costs a request unless its `Cache-Control` keeps it fresh that long (`immutable`, "
        f"or `max-age` ≥ {WARM_AFTER} s). Cold transfer counts headers and bodies as sent. Goal: cold < "
        f"{GOAL_COLD_KB} KB and 0 asset requests warm."
    )
    lines = [
        "| response | status | encoding | bytes sent | Cache-Control | warm visit |",
        "|---|---:|---|---:|---|---|",
    ]
    warm = {a.path: status for a, status in r.warm_requests}
    for f in [r.page, *r.assets]:
        if f is r.page:
            on_warm = "asked again (navigation)"
        elif f.path in warm:
            on_warm = f"request → {warm[f.path]}"
        else:
            on_warm = "from cache"
        lines.append(
            f"| `{f.path}` | {f.status} | {f.encoding or 'none'} | {f.wire_bytes:,} | "
            f"{f.cache_control or '(none)'} | {on_warm} |"
        )
    lines += [
        "",
        f"Cold: **{r.cold_bytes / 1000:.1f} KB** in {1 + len(r.assets)} responses; warm: "
        f"**{len(r.warm_requests)}** asset request(s). Goal met: {'yes' if r.met() else 'NO'}.",
    ]
    return intro, "\n".join(lines)
