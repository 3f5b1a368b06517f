"""Configuration read from the environment.

Development has safe defaults so `make run` works on a bare machine; production
(`CLIFFHANGER_ENV=production`) refuses to start without its secrets, with the published
development ones, with secrets shorter than 32 bytes or only whitespace, and without a shared
rate-limit storage.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production below
DEV_WEBHOOK_SECRET = "whsec_emulated_dev_only"  # noqa: S105 - the emulator's; not in production


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


MIN_SECRET_BYTES = 32
PUBLISHED_SECRETS = {DEV_SECRET_KEY, DEV_WEBHOOK_SECRET}
"""Values printed in this repository: whoever reads it could sign sessions or webhooks."""


def check_production_secret(name: str, value: str) -> None:
    """Refuse a production secret that is missing, published, whitespace only or short."""
    if not value:
        raise ConfigError(f"{name} must be set when CLIFFHANGER_ENV=production")
    if value in PUBLISHED_SECRETS:
        raise ConfigError(f"{name} is the published development value; set a secret of your own")
    if not value.strip():
        raise ConfigError(f"{name} is only whitespace")
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"{name} must be at least {MIN_SECRET_BYTES} bytes long")


def load_config(instance_path: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables."""
    env = os.environ if env is None else env
    mode = env.get("CLIFFHANGER_ENV", "development")
    if mode not in {"development", "production", "testing"}:
        raise ConfigError(
            f"CLIFFHANGER_ENV must be development, production or testing, got {mode!r}"
        )
    production = mode == "production"

    secret_key = env.get("SECRET_KEY", "")
    if production:
        # The emulated Stripe (no key) pays nobody and checks webhooks against a secret printed
        # in the README: development and tests only.
        for name in ("SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
            check_production_secret(name, env.get(name, ""))
        storage = env.get("RATELIMIT_STORAGE_URI", "")
        if not storage or storage.startswith("memory://"):
            raise ConfigError(
                "RATELIMIT_STORAGE_URI must name a shared storage (redis://host:6379) when "
                "CLIFFHANGER_ENV=production: in-memory limits are per process"
            )

    log_format = env.get("LOG_FORMAT") or ("json" if production else "text")
    if log_format not in {"json", "text"}:
        raise ConfigError(f"LOG_FORMAT must be json or text, got {log_format!r}")
    log_level = (env.get("LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

    default_db = "sqlite:///" + str(Path(instance_path) / "cliffhanger.sqlite3")
    return {
        "CLIFFHANGER_ENV": mode,
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": log_level,
        "SECRET_KEY": secret_key or DEV_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or default_db,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Cookies: never readable by scripts, never sent cross-site on POST, HTTPS-only in prod.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead of a clock
        "MAX_CONTENT_LENGTH": _int(env, "MAX_UPLOAD_BYTES", 500 * 1024 * 1024) + 1024 * 1024,
        "MAX_UPLOAD_BYTES": _int(env, "MAX_UPLOAD_BYTES", 500 * 1024 * 1024),
        # A web import sends a manifest and many files in one request (each file is still
        # held to MAX_UPLOAD_BYTES); bigger series go through `flask studio import`.
        "MAX_IMPORT_BYTES": _int(env, "MAX_IMPORT_BYTES", 4 * 1024 * 1024 * 1024),
        "MEDIA_ROOT": env.get("MEDIA_ROOT") or str(Path(instance_path) / "media"),
        "PLATFORM_FEE_BPS": _int(env, "PLATFORM_FEE_BPS", 1000),
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET,
        "STRIPE_EMULATOR_PATH": env.get("STRIPE_EMULATOR_PATH")
        or str(Path(instance_path) / "stripe-emulator.sqlite3"),
        "PAYOUT_SCHEDULE": env.get("PAYOUT_SCHEDULE", "0 6 * * mon"),
        "PAYOUT_MINIMUM": _int(env, "PAYOUT_MINIMUM", 1000),
        "PAYOUT_APPROVALS": _int(env, "PAYOUT_APPROVALS", 1),
        # Days after a settlement period ends during which late events are still accepted;
        # the period closes (and refuses them) only after.
        "SETTLEMENT_LATE_DAYS": _int(env, "SETTLEMENT_LATE_DAYS", 3),
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int(env, "MAIL_PORT", 587),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool(env, "MAIL_USE_TLS", True),
        "MAIL_FROM": env.get("MAIL_FROM", "Cliffhanger <no-reply@example.com>"),
        # Delivery attempts before a message is dead-lettered, and the first retry's delay
        # (doubling after each failure).
        "MAIL_MAX_ATTEMPTS": _int(env, "MAIL_MAX_ATTEMPTS", 6),
        "MAIL_RETRY_SECONDS": _int(env, "MAIL_RETRY_SECONDS", 60),
        # Links in mail and redirects (marketplace.links): PUBLIC_URL, or when empty the host
        # and port the request came to. SERVER_NAME_FOR_LINKS is the partner API's base.
        "PUBLIC_URL": (env.get("PUBLIC_URL") or "").rstrip("/"),
        "SERVER_NAME_FOR_LINKS": env.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # Stripe Connect: where the platform's Stripe account is (decides which payees
        # Stripe lets it pay: marketplace.payouts.crossborder.stripe_rules).
        "STRIPE_PLATFORM_COUNTRY": (env.get("STRIPE_PLATFORM_COUNTRY") or "US").upper(),
        # Tax: withholding rates in basis points, the 1099-MISC threshold in minor units of
        # USD, and the payer named on the year-end forms.
        "TAX_BACKUP_WITHHOLDING_BPS": _int(env, "TAX_BACKUP_WITHHOLDING_BPS", 2400),
        "TAX_NRA_WITHHOLDING_BPS": _int(env, "TAX_NRA_WITHHOLDING_BPS", 3000),
        "TAX_1099_THRESHOLD": _int(env, "TAX_1099_THRESHOLD", 60_000),
        "TAX_PAYER_NAME": env.get("TAX_PAYER_NAME", "Cliffhanger"),
        "TAX_PAYER_TIN": env.get("TAX_PAYER_TIN", ""),
        # Partner API: requests per second per key and process, the burst, media link life.
        "API_RATE_LIMIT": _int(env, "API_RATE_LIMIT", 100),
        "API_RATE_BURST": _int(env, "API_RATE_BURST", 200),
        "API_MAX_BODY_BYTES": _int(env, "API_MAX_BODY_BYTES", 2 * 1024 * 1024),
        # Partner reports reconciled against the event log (web, CLI and API): the largest
        # file, in bytes; the API reads a report's body whole to check its signature.
        "RECONCILE_MAX_BYTES": _int(env, "RECONCILE_MAX_BYTES", 200 * 1024 * 1024),
        "MEDIA_LINK_SECONDS": _int(env, "MEDIA_LINK_SECONDS", 6 * 3600),
        "API_KEY_GRACE_HOURS": _int(env, "API_KEY_GRACE_HOURS", 24),
        # Rate limits (Flask-Limiter): one storage shared by every worker; Redis in production.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or "memory://",
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "cliffhanger"),
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": _bool(env, "RATELIMIT_ENABLED", True),
        "LOGIN_LIMIT_PER_ACCOUNT": env.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes"),
        "LOGIN_LIMIT_PER_IP": env.get("LOGIN_LIMIT_PER_IP", "30 per minute;300 per hour"),
        "SIGNUP_LIMIT_PER_IP": env.get("SIGNUP_LIMIT_PER_IP", "10 per hour"),
        "SIGNUP_LIMIT_PER_EMAIL": env.get("SIGNUP_LIMIT_PER_EMAIL", "3 per hour"),
        "INVITATION_LIMIT": env.get("INVITATION_LIMIT", "20 per hour"),
        "API_FAILED_AUTH_LIMIT": env.get("API_FAILED_AUTH_LIMIT", "60 per minute"),
        # Sessions: absolute and idle lifetimes, in seconds (checked on every request).
        "SESSION_MAX_SECONDS": _int(env, "SESSION_MAX_SECONDS", 14 * 24 * 3600),
        "SESSION_IDLE_SECONDS": _int(env, "SESSION_IDLE_SECONDS", 2 * 3600),
        "PERMANENT_SESSION_LIFETIME": _int(env, "SESSION_MAX_SECONDS", 14 * 24 * 3600),
        # Behind N reverse proxies (TLS terminated there), trust N X-Forwarded-* hops.
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        "HSTS_SECONDS": _int(env, "HSTS_SECONDS", 365 * 24 * 3600 if production else 0),
    }
