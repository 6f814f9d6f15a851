"""Static assets: content-hashed names, pre-compressed copies and long cache lifetimes (issue 16).

At start, :func:`init_app` gathers the files the pages link: everything under the app's static folder,
and the Bootstrap files that Bootstrap-Flask's ``load_css()``/``load_js()`` link from its own blueprint
(``/bootstrap/static``). Each file gets a second name carrying a digest of its content
(``marketplace.css``: ``marketplace.1f2e3d4c5b6a.css``), and ``url_for('static', ...)`` and
``url_for('bootstrap.static', ...)`` answer with that name. The files are copied under both names, with
gzip copies beside them (and brotli ones when the ``brotli`` package is installed), into
``<instance>/static-build/<fingerprint of the content>/``: a later start with the same content reuses that
folder, so only the first start after the assets changed writes, never a request. ``flask assets build``
does it ahead of starting the web workers (concurrent builds of the same content are safe anyway).

WhiteNoise serves that folder in front of the app: a hashed name with a year-long, immutable lifetime (the
content under that name never changes), a plain name for a few minutes, the compressed copy to a client that
accepts it. ``/favicon.ico`` is served from the same folder. A path it does not know goes on to the app,
whose static routes still answer the files not linked from the pages (Bootstrap's source maps) or 404.

In debug mode nothing is hashed or copied: Flask's static routes serve the sources, so an edited stylesheet
shows on the next reload.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

log = logging.getLogger("marketplace.assets")

HASHED_CACHE_CONTROL = "public, max-age=31536000, immutable"
PLAIN_MAX_AGE = 300  # seconds: a plain name may change with the next deployment
DIGEST_LENGTH = 12
BUILD_FORMAT = "1"  # bump when the layout of a build changes, so older builds are not reused
MANIFEST = "manifest.json"
PUBLIC = "public"  # the part of a build that is served, laid out as the URLs are
STALE_BUILD_SECONDS = 24 * 3600  # an unused build older than this is removed
FAVICON = "favicon.ico"
LINKED_URL = re.compile(r'(?:href|src)="([^"]+)"')

assets_cli = AppGroup("assets", help="Static assets: hashed names and compressed copies.")


@dataclass(frozen=True)
class Asset:
    """One static file: the endpoint whose URLs name it, its name under that endpoint, and its content."""

    endpoint: str  # "static", "bootstrap.static"
    url_prefix: str  # "/static/"
    name: str  # "vendor/chartjs/chart.umd.min.js"
    source: Path
    digest: str  # sha256 of the content, hex

    @property
    def hashed_name(self) -> str:
        folder, _, filename = self.name.rpartition("/")
        stem, dot, extension = filename.rpartition(".")
        tag = self.digest[:DIGEST_LENGTH]
        hashed = f"{stem}.{tag}.{extension}" if dot and stem else f"{filename}.{tag}"
        return f"{folder}/{hashed}" if folder else hashed

    @property
    def url(self) -> str:
        return self.url_prefix + self.name

    @property
    def hashed_url(self) -> str:
        return self.url_prefix + self.hashed_name


def init_app(app: Flask) -> None:
    """Hash, copy and compress the assets (or reuse the build of the same content), rewrite the static URLs
    to the hashed names and put WhiteNoise in front of the app. ``/favicon.ico`` answers in every mode."""
    app.add_url_rule(f"/{FAVICON}", endpoint="favicon", view_func=_favicon)
    app.cli.add_command(assets_cli)
    assets = collect(app)
    app.extensions["assets"] = assets
    if app.debug:
        log.info("debug mode: static files served as they are, unhashed")
        return
    try:
        folder = build(assets, build_root(app))
    except OSError:
        log.warning("static assets could not be built, serving the plain files", exc_info=True)
        return
    app.url_defaults(_hashed_names(assets))
    app.wsgi_app = StaticFiles(app.wsgi_app, folder / PUBLIC, {a.hashed_url for a in assets})


def build_root(app: Flask) -> Path:
    return Path(app.instance_path) / "static-build"


def _favicon():
    """Only reached when WhiteNoise does not serve it (debug mode, no build)."""
    return current_app.send_static_file(FAVICON)


def _hashed_names(assets: list[Asset]):
    names: dict[str, dict[str, str]] = {}
    for asset in assets:
        names.setdefault(asset.endpoint, {})[asset.name] = asset.hashed_name

    def hashed_filename(endpoint: str, values: dict) -> None:
        hashed = names.get(endpoint, {}).get(values.get("filename"))
        if hashed:
            values["filename"] = hashed

    return hashed_filename


# --- what is served ------------------------------------------------------------------------------------


def collect(app: Flask) -> list[Asset]:
    """Every file under the app's static folder, and the Bootstrap files its pages link."""
    assets = []
    prefix = _url_prefix(app, "static")
    if app.static_folder and prefix:
        assets += scan_folder(Path(app.static_folder), "static", prefix)
    assets += _bootstrap_assets(app)
    return assets


def scan_folder(folder: Path, endpoint: str, url_prefix: str, names: list[str] | None = None) -> list[Asset]:
    """The files under ``folder`` (only ``names`` when given, those that exist), hidden ones left out."""
    if names is None:
        paths = sorted(p for p in folder.rglob("*") if p.is_file())
        names = [p.relative_to(folder).as_posix() for p in paths]
    assets = []
    for name in names:
        source = folder / name
        if any(part.startswith(".") for part in Path(name).parts) or not source.is_file():
            continue
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        assets.append(Asset(endpoint, url_prefix, name, source, digest))
    return assets


def _bootstrap_assets(app: Flask) -> list[Asset]:
    """The files Bootstrap-Flask links (with BOOTSTRAP_SERVE_LOCAL), read off its own tags, so the theme,
    the version and its file layout stay Bootstrap-Flask's business."""
    extension = app.extensions.get("bootstrap")
    blueprint = app.blueprints.get("bootstrap")
    prefix = _url_prefix(app, "bootstrap.static")
    if extension is None or blueprint is None or not blueprint.static_folder or not prefix:
        return []
    with app.test_request_context():
        tags = str(extension.load_css()) + str(extension.load_js())
    names = [url[len(prefix) :] for url in LINKED_URL.findall(tags) if url.startswith(prefix)]
    return scan_folder(Path(blueprint.static_folder), "bootstrap.static", prefix, names)


def _url_prefix(app: Flask, endpoint: str) -> str | None:
    """``/static/`` for the rule ``/static/<path:filename>``."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == endpoint:
            return rule.rule.partition("<")[0]
    return None


# --- the build -----------------------------------------------------------------------------------------


def fingerprint(assets: list[Asset]) -> str:
    """Names the build: the same files with the same content, built the same way, give the same folder."""
    text = "\n".join(
        [f"format {BUILD_FORMAT}", f"compress {_compressor().use_brotli}"]
        + sorted(f"{a.url}\t{a.digest}" for a in assets)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build(assets: list[Asset], root: Path) -> Path:
    """The build folder of these assets under ``root``: made unless a complete one is there already.

    It is made in a scratch folder renamed into place at the end, so a reader never sees half a build, and
    two processes starting at once both end with the one that was renamed first."""
    target = root / fingerprint(assets)
    if (target / MANIFEST).is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    try:
        scratch.chmod(0o755)
        _write(assets, scratch)
        try:
            scratch.rename(target)
        except OSError:
            if not (target / MANIFEST).is_file():  # not another process's build of the same content
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("static assets built in %s", target)
    _remove_stale_builds(root, keep=target)
    return target


def _write(assets: list[Asset], folder: Path) -> None:
    compressor = _compressor()
    public = folder / PUBLIC
    manifest: dict[str, dict[str, str]] = {}
    for asset in assets:
        plain = public / asset.url.lstrip("/")
        _copy_compressed(asset.source, plain, compressor)
        _copy_with_variants(plain, public / asset.hashed_url.lstrip("/"))
        if asset.endpoint == "static" and asset.name == FAVICON:
            _copy_with_variants(plain, public / FAVICON)
        manifest.setdefault(asset.endpoint, {})[asset.name] = asset.hashed_name
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), "utf-8")


def _compressor() -> Compressor:
    """gzip always, brotli when the package is installed; only copies at least 5 % smaller are kept."""
    return Compressor(use_gzip=True, use_brotli=True, quiet=True)


def _copy_compressed(source: Path, destination: Path, compressor: Compressor) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)
    if compressor.should_compress(destination.name):
        compressor.compress(str(destination))


def _copy_with_variants(plain: Path, destination: Path) -> None:
    """``plain`` and its compressed copies under another name."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".gz", ".br"):
        variant = plain.with_name(plain.name + suffix)
        if variant.is_file():
            shutil.copy2(variant, destination.with_name(destination.name + suffix))


def _remove_stale_builds(root: Path, keep: Path) -> None:
    """Builds of older content (and scratch folders of interrupted builds) not touched for a day."""
    cutoff = time.time() - STALE_BUILD_SECONDS
    for entry in root.iterdir():
        if entry != keep and entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)


# --- serving -------------------------------------------------------------------------------------------


class StaticFiles(WhiteNoise):
    """WhiteNoise over a build: the hashed URLs immutable for a year, the plain ones for a few minutes."""

    def __init__(self, application, public: Path, hashed_urls: set[str]):
        self.hashed_urls = frozenset(hashed_urls)  # before WhiteNoise reads the folder and asks
        super().__init__(application, root=str(public), prefix="/", allow_all_origins=False)

    def add_cache_headers(self, headers, path, url):
        if url in self.hashed_urls:
            headers["Cache-Control"] = HASHED_CACHE_CONTROL
        else:
            headers["Cache-Control"] = f"public, max-age={PLAIN_MAX_AGE}"


@assets_cli.command("build")
def build_command() -> None:
    """Hash and compress the static files into the instance folder (done at start when missing)."""
    assets = current_app.extensions["assets"]
    folder = build(assets, build_root(current_app))
    click.echo(f"{len(assets)} static files, hashed and compressed, in {folder}")
