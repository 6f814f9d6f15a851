"""Production's configuration is checked at start, every problem named in one error (issue 18)."""

import pytest
from cryptography.fernet import Fernet

from marketplace import create_app
from marketplace.config import ConfigError, load_config

PG = "postgresql+psycopg://app@db/marketplace"
SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "MAIL_SERVER",
    "MAIL_FROM",
    "MAIL_DEFAULT_SENDER",
    "MAIL_SUPPRESS_SEND",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in (*SETTINGS, "SCHEDULER_ENABLED", "TRUSTED_PROXIES", "PREFERRED_URL_SCHEME", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _production(**settings) -> dict:
    return {
        "ENV": "production",
        "SECRET_KEY": "x" * 32,
        "BID_KEY_WRAPPING_KEYS": Fernet.generate_key().decode(),
        "AUDIT_CHAIN_KEY": "k" * 48,
        "SQLALCHEMY_DATABASE_URI": PG,
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "MAIL_SERVER": "smtp.example.cn",
        "MAIL_DEFAULT_SENDER": "noreply@example.cn",
        **settings,
    }


def test_a_complete_production_configuration_starts(tmp_path, clean_env):
    config = load_config(str(tmp_path), _production())
    assert config["PREFERRED_URL_SCHEME"] == "https"
    assert config["LOG_FORMAT"] == "json"
    assert config["TRUSTED_PROXIES"] == 0


def test_every_missing_setting_is_named_in_one_error(tmp_path, clean_env):
    overrides = _production(REDIS_URL="", MAIL_SERVER="", MAIL_DEFAULT_SENDER="", SECRET_KEY="")
    with pytest.raises(ConfigError) as caught:
        load_config(str(tmp_path), overrides)
    message = str(caught.value)
    for name in ("SECRET_KEY", "REDIS_URL", "MAIL_SERVER", "MAIL_DEFAULT_SENDER"):
        assert name in message
    assert "DATABASE_URL" not in message  # PostgreSQL given


def test_production_refuses_sqlite(tmp_path, clean_env):
    with pytest.raises(ConfigError, match="DATABASE_URL must be a PostgreSQL URL"):
        load_config(str(tmp_path), _production(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.db"))
    clean_env.setenv("DATABASE_URL", "postgresql://app@db/marketplace")  # the environment's URL is converted
    overrides = _production()
    del overrides["SQLALCHEMY_DATABASE_URI"]
    assert load_config(str(tmp_path), overrides)["SQLALCHEMY_DATABASE_URI"].startswith(
        "postgresql+psycopg://"
    )


def test_mail_may_be_suppressed_instead(tmp_path, clean_env):
    clean_env.setenv("MAIL_SUPPRESS_SEND", "1")
    config = load_config(str(tmp_path), _production(MAIL_SERVER=""))
    assert config["MAIL_SUPPRESS_SEND"]
    assert config["MAIL_DEFAULT_SENDER"] == "noreply@example.cn"


def test_no_placeholder_sender_in_production(tmp_path, clean_env):
    overrides = _production()
    del overrides["MAIL_DEFAULT_SENDER"]
    with pytest.raises(ConfigError, match="MAIL_DEFAULT_SENDER must be set"):
        load_config(str(tmp_path), overrides)


def test_the_scheduler_is_refused_in_production_web_processes(tmp_path, clean_env):
    clean_env.setenv("SCHEDULER_ENABLED", "1")
    with pytest.raises(ConfigError, match="SCHEDULER_ENABLED.*flask --app marketplace jobs run"):
        load_config(str(tmp_path), _production())
    assert load_config(str(tmp_path), {"ENV": "development"})["SCHEDULER_ENABLED"]  # make run keeps it


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRUSTED_PROXIES", "two"),
        ("TRUSTED_PROXIES", "-1"),
        ("PREFERRED_URL_SCHEME", "ftp"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_misspelt_settings_are_refused_in_every_environment(tmp_path, clean_env, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_config(str(tmp_path), {"ENV": "development"})


def test_redis_is_the_rate_limit_storage_when_set(tmp_path, clean_env):
    clean_env.delenv("RATELIMIT_STORAGE_URI", raising=False)
    assert load_config(str(tmp_path), {"ENV": "development"})["RATELIMIT_STORAGE_URI"] == "memory://"
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    assert (
        load_config(str(tmp_path), {"ENV": "development"})["RATELIMIT_STORAGE_URI"]
        == "redis://127.0.0.1:6379/15"
    )


def _client_seen(tmp_path, proxies: int):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/proxy.sqlite3",
            "TRUSTED_PROXIES": proxies,
            "RATELIMIT_ENABLED": False,
        }
    )

    @app.route("/_whoami")
    def whoami():
        from flask import request

        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    headers = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "gov.example.cn",
    }
    return app.test_client().get("/_whoami", headers=headers).get_json()


def test_forwarded_headers_are_trusted_only_behind_configured_proxies(tmp_path, clean_env):
    assert _client_seen(tmp_path, 0) == {"addr": "127.0.0.1", "scheme": "http", "host": "localhost"}
    assert _client_seen(tmp_path, 1) == {"addr": "203.0.113.9", "scheme": "https", "host": "gov.example.cn"}
