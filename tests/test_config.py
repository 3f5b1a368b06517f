"""Configuration: production refuses default secrets, with one line naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from marketplace.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_production_without_secret_key_is_refused(tmp_path):
    with pytest.raises(
        ConfigError, match=r"^SECRET_KEY must be set when CLIFFHANGER_ENV=production$"
    ):
        load_config(str(tmp_path), {"CLIFFHANGER_ENV": "production"})


PRODUCTION = {
    "CLIFFHANGER_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "STRIPE_SECRET_KEY": "sk_live_" + "x" * 40,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "x" * 40,
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
}


def test_production_with_its_secrets_starts_with_secure_cookies(tmp_path):
    config = load_config(str(tmp_path), PRODUCTION)
    assert config["SESSION_COOKIE_SECURE"] is True and config["SECRET_KEY"] == "s" * 40
    assert config["STRIPE_WEBHOOK_SECRET"] == "whsec_" + "x" * 40


@pytest.mark.parametrize("name", ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])
def test_production_refuses_the_emulated_stripe_and_its_public_secret(tmp_path, name):
    # Without a key the emulator would "pay" people and trust webhooks signed with the
    # development secret the README prints.
    env = {k: v for k, v in PRODUCTION.items() if k != name}
    with pytest.raises(ConfigError, match=rf"^{name} must be set when CLIFFHANGER_ENV=production$"):
        load_config(str(tmp_path), env)


def test_development_defaults_to_sqlite_under_instance(tmp_path):
    config = load_config(str(tmp_path), {})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/cliffhanger.sqlite3"
    assert config["PLATFORM_FEE_BPS"] == 1000


def test_database_url_switches_engine(tmp_path):
    config = load_config(str(tmp_path), {"DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_bad_integer_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="PAYOUT_MINIMUM"):
        load_config(str(tmp_path), {"PAYOUT_MINIMUM": "ten"})


def test_wsgi_in_production_without_secret_exits_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update({"CLIFFHANGER_ENV": "production"})
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        == "cliffhanger: SECRET_KEY must be set when CLIFFHANGER_ENV=production"
    )


def test_partner_api_limits_and_media_link_life_come_from_the_environment(tmp_path):
    defaults = load_config(str(tmp_path), {})
    assert (defaults["API_RATE_LIMIT"], defaults["API_RATE_BURST"]) == (100, 200)
    assert defaults["MEDIA_LINK_SECONDS"] == 6 * 3600
    assert defaults["API_MAX_BODY_BYTES"] == 2 * 1024 * 1024
    env = {"API_RATE_LIMIT": "20", "API_RATE_BURST": "40", "MEDIA_LINK_SECONDS": "600"}
    config = load_config(str(tmp_path), env)
    assert (config["API_RATE_LIMIT"], config["API_RATE_BURST"]) == (20, 40)
    assert config["MEDIA_LINK_SECONDS"] == 600


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SECRET_KEY", "dev-only-not-secret", "published development value"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_emulated_dev_only", "published development value"),
        ("SECRET_KEY", "x", "at least 32 bytes"),
        ("SECRET_KEY", "s" * 31, "at least 32 bytes"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_short", "at least 32 bytes"),
        ("STRIPE_SECRET_KEY", "sk_live_x", "at least 32 bytes"),
        ("SECRET_KEY", " " * 40, "only whitespace"),
        ("STRIPE_WEBHOOK_SECRET", "\t\n " * 20, "only whitespace"),
    ],
)
def test_production_refuses_published_short_or_blank_secrets(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=rf"^{name} .*{message}"):
        load_config(str(tmp_path), {**PRODUCTION, name: value})


@pytest.mark.parametrize("storage", [None, "", "memory://"])
def test_production_refuses_per_process_rate_limits(tmp_path, storage):
    env = {k: v for k, v in PRODUCTION.items() if k != "RATELIMIT_STORAGE_URI"}
    if storage is not None:
        env["RATELIMIT_STORAGE_URI"] = storage
    with pytest.raises(ConfigError, match=r"^RATELIMIT_STORAGE_URI must name a shared storage"):
        load_config(str(tmp_path), env)


def test_production_sends_hsts_and_development_does_not(tmp_path):
    production = load_config(str(tmp_path), PRODUCTION)
    assert production["HSTS_SECONDS"] >= 365 * 24 * 3600
    assert load_config(str(tmp_path), {})["HSTS_SECONDS"] == 0
    assert load_config(str(tmp_path), {"TRUSTED_PROXIES": "2"})["TRUSTED_PROXIES"] == 2
