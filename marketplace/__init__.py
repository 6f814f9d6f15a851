"""公共服务购买平台 — public-service procurement marketplace."""

from __future__ import annotations

import logging
import os

from flask import Flask, has_request_context, request, session
from sqlalchemy import event

from marketplace.config import load_config
from marketplace.extensions import babel, bootstrap, cache, csrf, db, limiter, login_manager, mail, migrate

log = logging.getLogger("marketplace.request")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        # static/ sits at the top of the checkout; a built wheel carries it inside the package (setup.py).
        static_folder=(
            "static" if os.path.isdir(os.path.join(os.path.dirname(__file__), "static")) else "../static"
        ),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path, config))
    _configure_logging(app)
    register_extensions(app)
    register_policies(app)
    register_retention(app)
    register_state_labels(app)
    register_blueprints(app)
    register_signals()
    register_errorhandlers(app)
    register_input_guard(app)
    register_transaction_edge(app)
    register_template_helpers(app)
    register_cli(app)
    register_request_logging(app)
    register_assets(app)
    register_security_headers(app)
    register_received_at(app)
    register_jobs(app)
    register_training(app)
    return app


def _configure_logging(app: Flask) -> None:
    from marketplace.core.request_log import configure_logging

    configure_logging(app)


def _select_locale():
    if not has_request_context():
        return _default_locale()
    lang = session.get("lang")
    if lang in _languages():
        return lang
    return request.accept_languages.best_match(_languages()) or _default_locale()


def _languages():
    from flask import current_app

    return current_app.config["LANGUAGES"]


def _default_locale():
    from flask import current_app

    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _import_models() -> None:
    """Every model module, so metadata (and Alembic autogenerate) sees the whole schema."""
    import marketplace.alerts.models  # noqa: F401
    import marketplace.audit.models  # noqa: F401
    import marketplace.auth.models  # noqa: F401
    import marketplace.auth.opening_keys  # noqa: F401
    import marketplace.bonds.models  # noqa: F401
    import marketplace.contracts.delivery.models  # noqa: F401
    import marketplace.contracts.models  # noqa: F401
    import marketplace.core.calendar  # noqa: F401
    import marketplace.core.districts  # noqa: F401
    import marketplace.core.jobruns  # noqa: F401
    import marketplace.core.notifications  # noqa: F401
    import marketplace.ocds.models  # noqa: F401
    import marketplace.orgs.models  # noqa: F401
    import marketplace.performance.models  # noqa: F401
    import marketplace.tenders.bids.ceremony.models  # noqa: F401
    import marketplace.tenders.bids.models  # noqa: F401
    import marketplace.tenders.committee.models  # noqa: F401
    import marketplace.tenders.models  # noqa: F401
    import marketplace.timelimits.models  # noqa: F401
    import marketplace.training.models  # noqa: F401


def register_extensions(app: Flask) -> None:
    _import_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_timezone=app.config["TIMEZONE"])
    bootstrap.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to see this page.")

    @login_manager.user_loader
    def load_user(user_id: str):
        from marketplace.auth.sessions import load_user as load_current_session_user

        return load_current_session_user(user_id)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _configure_sqlite(engine) -> None:
    """SQLite for many writers: WAL (readers never wait for a writer), a busy timeout, foreign keys,
    and ``BEGIN IMMEDIATE`` for every transaction that may write, so a writer waits for the lock at
    its start (the busy timeout applies) instead of failing with "database is locked" when it first
    writes after reading. Only read-only requests begin deferred (core.transaction.writes_expected)."""
    from marketplace.core.transaction import writes_expected

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # pysqlite's own transaction control off
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(engine.url.query.get('busy_timeout', 30000))}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes_expected() else "BEGIN")


def register_policies(app: Flask) -> None:
    """Every package's permission rules, registered here and nowhere else (``can``/``require`` ask them)."""
    from marketplace.alerts import policy as alerts_policy
    from marketplace.audit import policy as audit_policy
    from marketplace.auth import policy as auth_policy
    from marketplace.bonds import policy as bonds_policy
    from marketplace.contracts import policy as contracts_policy
    from marketplace.core.permissions import register_rules
    from marketplace.dashboards import policy as dashboards_policy
    from marketplace.jobs import policy as jobs_policy
    from marketplace.needs import policy as needs_policy
    from marketplace.orgs import policy as orgs_policy
    from marketplace.performance import policy as performance_policy
    from marketplace.redflags import policy as redflags_policy
    from marketplace.tenders import policy as tenders_policy
    from marketplace.tenders.committee import policy as committee_policy
    from marketplace.timelimits import policy as time_limits_policy
    from marketplace.training import policy as training_policy

    for policy in (
        tenders_policy,
        committee_policy,
        orgs_policy,
        contracts_policy,
        performance_policy,
        dashboards_policy,
        audit_policy,
        jobs_policy,
        bonds_policy,
        time_limits_policy,
        auth_policy,
        alerts_policy,
        training_policy,
        needs_policy,
        redflags_policy,
    ):
        register_rules(policy.RULES)


def register_retention(app: Flask) -> None:
    """What is kept 15 years (GPL 42) and when a procurement is closed: each package's lists and rules
    (``core.retention``, ``core.records``), and the ORM guards that refuse deleting kept rows."""
    from marketplace.audit.models import AuditEvent
    from marketplace.bonds.models import BidBond, PerformanceBond
    from marketplace.contracts import retention as contract_retention
    from marketplace.core import records, retention
    from marketplace.tenders import retention as tender_retention

    for package in (tender_retention, contract_retention):
        retention.register(package.RETAINED, package.REMOVABLE)
        records.register_closed_rules(package.CLOSED_RULES)
    retention.register((BidBond, PerformanceBond), {})
    retention.register((), append_only=(AuditEvent,))
    retention.install()


def register_state_labels(app: Flask) -> None:
    """Every package's state-machine labels, registered here (``core.labels``)."""
    from marketplace.bonds import labels as bond_labels
    from marketplace.contracts import labels as contract_labels
    from marketplace.core import labels, legal, messages
    from marketplace.dashboards import labels as dashboard_labels
    from marketplace.orgs import labels as org_labels
    from marketplace.performance import labels as performance_labels
    from marketplace.tenders import labels as tender_labels
    from marketplace.tenders.committee import labels as committee_labels
    from marketplace.timelimits import labels as time_limit_labels
    from marketplace.transparency import labels as transparency_labels

    for package in (
        tender_labels,
        committee_labels,
        org_labels,
        contract_labels,
        performance_labels,
        dashboard_labels,
        transparency_labels,
        time_limit_labels,
        bond_labels,
    ):
        labels.register_labels(package.LABELS)
        messages.register_params(getattr(package, "MESSAGE_PARAMS", {}))
    labels.init_app(app)
    messages.init_app(app)
    legal.init_app(app)


def register_signals() -> None:
    """Connect the receivers of domain signals (tender amended or cancelled: notify subscribers)."""
    from marketplace.contracts.subscriptions import connect_signals as connect_contract_signals
    from marketplace.tenders import search_cache
    from marketplace.tenders.subscriptions import connect_signals

    connect_signals()
    connect_contract_signals()
    search_cache.connect_signals()


def register_blueprints(app: Flask) -> None:
    from marketplace.alerts import views as alerts_views
    from marketplace.api import registry as api_registry
    from marketplace.audit.log_views import bp as audit_log_bp
    from marketplace.audit.views import bp as auditor_bp
    from marketplace.auth.views import bp as auth_bp
    from marketplace.bonds.views import bp as bonds_bp
    from marketplace.contracts import delivery_views, import_views, views  # noqa: F401 - routes on contracts_bp
    from marketplace.contracts.blueprint import bp as contracts_bp
    from marketplace.core.public_ids import PublicIdConverter
    from marketplace.dashboards.views import bp as dashboards_bp
    from marketplace.jobs.views import bp as jobs_bp
    from marketplace.legacy_urls import bp as legacy_bp
    from marketplace.main.views import bp as main_bp
    from marketplace.needs.views import bp as needs_bp
    from marketplace.orgs import review_views as org_review_views  # noqa: F401 - routes on orgs_bp
    from marketplace.orgs import views as org_views  # noqa: F401 - routes on orgs_bp
    from marketplace.orgs.blueprint import bp as orgs_bp
    from marketplace.performance import survey_views  # noqa: F401 - routes on evaluation_bp
    from marketplace.performance import views as performance_views  # noqa: F401
    from marketplace.performance.blueprint import bp as performance_bp
    from marketplace.redflags.views import bp as redflags_bp
    from marketplace.tenders import invitation_views  # noqa: F401 - routes on tenders_bp
    from marketplace.tenders.bids.ceremony.views import bp as ceremony_bp
    from marketplace.tenders.bids.views import bp as bids_bp
    from marketplace.tenders.committee.views import bp as committee_bp
    from marketplace.tenders.views import bp as tenders_bp
    from marketplace.timelimits.views import bp as timelimits_bp
    from marketplace.training.views import bp as training_bp
    from marketplace.transparency.views import bp as transparency_bp

    app.url_map.converters["public_id"] = PublicIdConverter  # before any rule uses it

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(tenders_bp)
    app.register_blueprint(orgs_bp)
    app.register_blueprint(bids_bp)
    app.register_blueprint(ceremony_bp)
    app.register_blueprint(committee_bp)
    app.register_blueprint(contracts_bp)
    app.register_blueprint(bonds_bp)
    app.register_blueprint(timelimits_bp)
    app.register_blueprint(dashboards_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(auditor_bp)
    app.register_blueprint(audit_log_bp)
    app.register_blueprint(transparency_bp)
    app.register_blueprint(performance_bp)
    app.register_blueprint(redflags_bp)
    app.register_blueprint(legacy_bp)
    app.register_blueprint(training_bp)
    api_registry.init_app(app)  # /api/v1 on flask-smorest: its blueprints, the documentation page
    app.register_blueprint(alerts_views.bp)
    app.register_blueprint(needs_bp)
    # The digest's unsubscribe link: a mail client's one-click POST (RFC 8058) carries no CSRF token.
    csrf.exempt(alerts_views.unsubscribe)


def register_input_guard(app: Flask) -> None:
    from marketplace.core import input_guard

    input_guard.init_app(app)


def register_transaction_edge(app: Flask) -> None:
    from marketplace.core import replica, transaction

    transaction.init_app(app)
    replica.init_app(app)  # DATABASE_REPLICA_URL: anonymous public reads and exports from the replica


def register_errorhandlers(app: Flask) -> None:
    from marketplace.core.errors import register_error_handlers

    register_error_handlers(app)


def register_template_helpers(app: Flask) -> None:
    from marketplace.core import templating

    templating.init_app(app)


def register_cli(app: Flask) -> None:
    from marketplace.cli import register

    register(app)


def register_jobs(app: Flask) -> None:
    from marketplace.core.notifications import install_mail_hooks
    from marketplace.jobs import scheduler
    from marketplace.jobs.cli import jobs_cli
    from marketplace.needs.cli import needs_cli
    from marketplace.redflags.cli import redflags_cli

    install_mail_hooks()
    app.cli.add_command(jobs_cli)
    app.cli.add_command(redflags_cli)
    app.cli.add_command(needs_cli)
    scheduler.start_in_process(app)


def register_training(app: Flask) -> None:
    """The training clock (development and TRAINING_MODE only): ``clock.now`` adds its stored offset."""
    from marketplace.training import services as training

    training.install(app)


def register_assets(app: Flask) -> None:
    """Static files under content-hashed names, compressed, cached for a year (``core.assets``)."""
    from marketplace.core import assets

    assets.init_app(app)


def register_security_headers(app: Flask) -> None:
    """CSP, frame, sniffing, referrer and HSTS headers on every response, static files included, and
    no caching of what a signed-in user sees (``core.security_headers``). After the assets' WhiteNoise."""
    from marketplace.core import security_headers

    security_headers.init_app(app)


def register_received_at(app: Flask) -> None:
    """The outermost WSGI layer stamps each request's arrival (the time a bid is judged by)."""
    from marketplace.core.received import ReceivedAt

    app.wsgi_app = ReceivedAt(
        app.wsgi_app,
        header=app.config.get("TRUSTED_PROXY_TIME_HEADER") or None,
        max_age_seconds=float(app.config.get("TRUSTED_PROXY_TIME_MAX_AGE", 30)),
    )


def register_request_logging(app: Flask) -> None:
    """A request id on every request and its log records, one log line per request
    (``core.request_log``), and the proxies' X-Forwarded-* headers trusted when TRUSTED_PROXIES."""
    from marketplace.core import request_log

    request_log.init_app(app)
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
