"""Deployment configuration: embedded defaults, then environment variables, then overrides.

Every setting a deployment may change is read here from an environment variable of the same name
and documented in the README's configuration table. Settings the department edits while the
system runs do not belong here: they live in the database.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Callable

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str) -> int:
    return int(value.strip())


# name -> (parser, default). A default may be a callable taking the instance path.
_SETTINGS: dict[str, tuple[Callable[[str], Any], Any]] = {
    "DATABASE_URL": (str, lambda inst: f"sqlite:///{inst / 'repository.sqlite3'}"),
    "SECRET_KEY": (str, None),  # generated and kept under instance/ when unset
    "BASE_URL": (str, "http://127.0.0.1:5000"),
    "DEPARTMENT_UNIT_CODE": (str, "SO_GDDT"),
    "DEPARTMENT_NAME": (str, "Sở Giáo dục và Đào tạo tỉnh Ninh Bình"),
    "PROVINCE_CODE": (_int, 37),
    "DEFAULT_LOCALE": (str, "vi"),
    "SESSION_IDLE_MINUTES": (_int, 30),
    "SESSION_COOKIE_SECURE": (_bool, False),
    "PASSWORD_EXPIRY_DAYS": (_int, 90),
    "LOGIN_MAX_FAILURES": (_int, 5),
    "LOGIN_LOCK_MINUTES": (_int, 15),
    "LOGIN_RATE_LIMIT": (str, "20 per minute"),
    "RATELIMIT_STORAGE_URI": (str, "memory://"),
    "TOKEN_HOURS": (_int, 72),
    "MAIL_SERVER": (str, ""),
    "MAIL_PORT": (_int, 25),
    "MAIL_USERNAME": (str, ""),
    "MAIL_PASSWORD": (str, ""),
    "MAIL_USE_TLS": (_bool, False),
    "MAIL_USE_SSL": (_bool, False),
    "MAIL_FROM": (str, "kho-hoc-lieu@localhost.localdomain"),
    "TRUST_PROXY": (_bool, False),
    "STORAGE_BACKEND": (str, "local"),
    "STORAGE_DIR": (str, lambda inst: str(inst / "storage")),
    "S3_ENDPOINT_URL": (str, ""),
    "S3_PUBLIC_ENDPOINT_URL": (str, ""),
    "S3_BUCKET": (str, "kho-hoc-lieu"),
    "S3_REGION": (str, "us-east-1"),
    "S3_ADDRESSING_STYLE": (str, "path"),
    "S3_PAYLOAD_SIGNING": (_bool, False),
    "S3_UPLOAD_CHECKSUMS": (_bool, True),
    "UPLOAD_MAX_BYTES": (_int, 2 * 1024**3),
    "UPLOAD_MAX_HOURS": (_int, 6),
    "UPLOAD_TMPDIR": (str, ""),
    "PROCESSING": (str, "inline"),
    "ANONYMOUS_ACCESS": (_bool, True),
    "SEARCH_INDEX_DIR": (str, lambda inst: str(inst / "search-index")),
    "SEARCH_APPLY": (str, "inline"),
    "SEARCH_RESULT_CACHE": (_int, 1024),
    # API and OAI-PMH (issue 7)
    "REDIS_URL": (str, ""),
    "API_RATE_LIMIT": (str, "600 per minute"),
    "API_IP_RATE_LIMIT": (str, "300 per minute"),
    "OAI_PAGE_SIZE": (_int, 100),
    # Reuse under load (issue 8); 0 = off, so a change is searchable at once (see README).
    "SEARCH_RESULT_MAX_AGE": (float, 0.0),
    "SEARCH_PAGE_MAX_AGE": (float, 0.0),
    "SEARCH_DOWNLOAD_BATCH_SECONDS": (float, 0.0),
    # Background jobs through RQ on REDIS_URL (issue 8); inline without REDIS_URL.
    "JOBS_QUEUE": (str, "kho-hoc-lieu"),
    "JOBS_TIMEOUT": (_int, 1800),
}


def _secret_key(instance: Path) -> str:
    """Return the key kept under instance/, creating it once with owner-only permissions."""
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def build_config(instance: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then `overrides` (tests and embedding callers)."""
    overrides = overrides or {}
    config: dict[str, Any] = {}
    for name, (parse, default) in _SETTINGS.items():
        if name in overrides:
            config[name] = overrides[name]
        elif name in os.environ:
            config[name] = parse(os.environ[name])
        else:
            config[name] = default(instance) if callable(default) else default
    config.update({k: v for k, v in overrides.items() if k not in config})
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _secret_key(instance)
    config.setdefault("SQLALCHEMY_DATABASE_URI", config["DATABASE_URL"])
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    _derive_web_settings(config)
    return config


def _derive_web_settings(config: dict[str, Any]) -> None:
    """Cookie, CSRF and size settings that follow from the ones above."""
    secure = bool(config["SESSION_COOKIE_SECURE"])
    idle_seconds = int(config["SESSION_IDLE_MINUTES"]) * 60
    config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    config.setdefault("REMEMBER_COOKIE_SECURE", secure)
    config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    config.setdefault("PERMANENT_SESSION_LIFETIME", idle_seconds)
    # A form must stay valid as long as the session does, or slow teachers lose their work.
    config.setdefault("WTF_CSRF_TIME_LIMIT", max(idle_seconds, 3600))
    config.setdefault("MAX_CONTENT_LENGTH", 8 * 1024 * 1024)
    config.setdefault("BABEL_DEFAULT_LOCALE", config["DEFAULT_LOCALE"])
    config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh")
    config.setdefault("BOOTSTRAP_SERVE_LOCAL", True)
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Several worker processes must count in one place: Redis, when REDIS_URL is set.
    if config.get("REDIS_URL") and config.get("RATELIMIT_STORAGE_URI", "memory://") == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
    config.setdefault("ARGON2_PROFILE", "default")
