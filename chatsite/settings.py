"""The only settings module: every value comes from the environment, with safe defaults.

Each variable is documented in the README's Configuration table; a malformed value stops the
start with ImproperlyConfigured naming the variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from chatsite.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    parse_ollama_host,
    redis_channel_prefix,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var"))).resolve()
try:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
except OSError as error:
    raise ImproperlyConfigured(f"DATA_DIR {str(DATA_DIR)!r} cannot be created: {error}") from None


def _secret_key() -> str:
    """Use DJANGO_SECRET_KEY, or a key created once and kept in DATA_DIR."""
    configured = env_str("DJANGO_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    key = key_file.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"DJANGO_SECRET_KEY is unset and {key_file} is empty")
    return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if "://" not in _origin:
        raise ImproperlyConfigured(
            "DJANGO_CSRF_TRUSTED_ORIGINS entries need a scheme (https://example.com), "
            f"not {_origin!r}"
        )

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "axes",
    "chatsite.accounts",
    "chatsite.library",
    "chatsite.gateway",
    "conversations",
    "conversations.assistants",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "chatsite.headers.ContentSecurityPolicyMiddleware",
    # Pages compress to a twentieth; CSRF tokens are masked per response, so BREACH does not apply.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "chatsite.headers.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # After auth and htmx: unapproved accounts only reach the waiting page; visits set last seen.
    "chatsite.accounts.middleware.AccountStateMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chatsite.accounts.context_processors.accounts",
            ],
        },
    },
]

# SQLite by default. WAL lets readers proceed during a write, IMMEDIATE transactions take the
# write lock up front, and the timeout makes concurrent async writers wait instead of failing
# with "database is locked".
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        _database = dj_database_url.parse(_database_url, conn_max_age=0)
    except Exception as error:  # dj_database_url raises several types for bad URLs
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {error}") from None
    if not _database.get("ENGINE"):
        raise ImproperlyConfigured("DATABASE_URL names an unknown database scheme")
else:
    _database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "chatsite.sqlite3")}
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["OPTIONS"] = {**SQLITE_OPTIONS, **_database.get("OPTIONS", {})}
    # Keep the connection: opening one per query, and the WAL checkpoint each close forces,
    # cost more than the query itself (bench/results.md).
    _database["CONN_MAX_AGE"] = None
    _database["CONN_HEALTH_CHECKS"] = True
# PostgreSQL: a pool of connections (Django closes its connection after every request and every
# ORM call from async code; without a pool each of those opened a new one), and turns stored by
# several threads at once instead of one after another (chatsite/db_threads.py).
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 8, minimum=2)
if _database["ENGINE"] == "django.db.backends.postgresql":
    _database["OPTIONS"] = {
        "pool": {"min_size": 2, "max_size": DATABASE_POOL_SIZE, "timeout": 30},
        **_database.get("OPTIONS", {}),
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"REDIS_URL must start with redis://, rediss:// or unix://, not {REDIS_URL!r}"
        )
    # Redis pub/sub: a frame is one PUBLISH, and each process reads every message it subscribed
    # to on one connection into in-process queues, so no socket or generation waits on a Redis
    # read of its own (the list-based layer's blocking reads timed out under load, killing
    # sockets). Pub/sub ignores Redis database numbers: the prefix keeps sites on one server
    # but different databases apart.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chatsite.channel_layer.RedisPubSubLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": redis_channel_prefix(REDIS_URL)},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chatsite.channel_layer.SweepingInMemoryChannelLayer",
            "CONFIG": {"capacity": 1500},
        }
    }

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection on sign-in (django-axes): after LOGIN_FAILURE_LIMIT failures within the
# lockout window for one username (from any address), or from one address (for any usernames),
# sign-in is refused for LOGIN_LOCKOUT_MINUTES. Failures are not wiped by a success, or one valid
# account would let its owner reset the count of the address they guess from.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("LOGIN_LOCKOUT_MINUTES", 15.0, minimum=0.1) / 60
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "chatsite.accounts.lockout.locked_out"
AXES_IPWARE_PROXY_COUNT = env_int("PROXY_COUNT", 0)
# Sign-up attempts that get an answer about the username (account made, or name taken) per client
# address per hour; counted in the database, so every process shares the count.
SIGNUP_MAX_PER_HOUR = env_int("SIGNUP_MAX_PER_HOUR", 10, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
# Whitenoise warns on every start until collectstatic has run; an empty directory is honest.
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Served over HTTPS (usually TLS ends at a reverse proxy that sets X-Forwarded-Proto): secure
# cookies, redirect plain HTTP, and tell browsers to stay on HTTPS (HSTS).
HTTPS = env_bool("DJANGO_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
# Both only when every subdomain is HTTPS too (see docs/deploy.md).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    # httpx's line per request to Ollama is DEBUG detail, not INFO (chatsite/log_filters.py).
    "filters": {"demote_to_debug": {"()": "chatsite.log_filters.DemoteToDebug"}},
    "loggers": {"httpx": {"filters": ["demote_to_debug"]}},
}

# Ollama. Timeouts are in seconds: connecting is quick or it is not happening; the first chunk
# of a reply can wait for a cold model to load; between chunks a generating model is never
# silent for long.
OLLAMA_HOST = parse_ollama_host(env_str("OLLAMA_HOST"))
# Several Ollama servers: when set, this list is every server chatsite uses (OLLAMA_HOST is then
# only the default for command-line tools and is not added).
OLLAMA_HOSTS = [parse_ollama_host(host, "OLLAMA_HOSTS") for host in env_list("OLLAMA_HOSTS", [])]
OLLAMA_CONNECT_TIMEOUT = env_float("OLLAMA_CONNECT_TIMEOUT", 5.0, minimum=0.1)
OLLAMA_REQUEST_TIMEOUT = env_float("OLLAMA_REQUEST_TIMEOUT", 30.0, minimum=0.1)
OLLAMA_LOAD_TIMEOUT = env_float("OLLAMA_LOAD_TIMEOUT", 600.0, minimum=0.1)
OLLAMA_STREAM_TIMEOUT = env_float("OLLAMA_STREAM_TIMEOUT", 120.0, minimum=0.1)
# How long the chat pages and sends reuse one list of the servers' models (0: ask every time,
# still one request at a time).
OLLAMA_MODELS_CACHE_SECONDS = env_float("OLLAMA_MODELS_CACHE_SECONDS", 5.0, minimum=0.0)

# Chat limits.
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 100_000, minimum=1)
# A streaming reply's process renews its lease about once a second; a reply whose lease ran out
# (its process died) is shown as interrupted.
CHAT_LEASE_SECONDS = env_float("CHAT_LEASE_SECONDS", 15.0, minimum=2.0)
CHAT_IMPORT_MAX_BYTES = env_int("CHAT_IMPORT_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
# An import writes whole conversations, at most this many messages per transaction (about 0.3 s
# of SQLite's write lock), so other people's writes go in between; a longer conversation is
# imported in parts of this many messages.
CHAT_IMPORT_BATCH_MESSAGES = env_int("CHAT_IMPORT_BATCH_MESSAGES", 2000, minimum=1)
# Fair use of the GPU, per user and across processes (counted in the database).
CHAT_MAX_ACTIVE_REPLIES_PER_USER = env_int("CHAT_MAX_ACTIVE_REPLIES_PER_USER", 2, minimum=1)
CHAT_MAX_TURNS_PER_MINUTE = env_int("CHAT_MAX_TURNS_PER_MINUTE", 20, minimum=1)

# Attachments (images and documents in a message). Files are kept by the "attachments" storage:
# DATA_DIR/media by default, or any Django storage backend named by CHAT_MEDIA_STORAGE (its own
# settings configure it). Images are re-encoded at most CHAT_IMAGE_MAX_PIXELS on the long side;
# a document's text is cut at CHAT_MAX_ATTACHMENT_CHARS.
CHAT_MEDIA_DIR = Path(env_str("CHAT_MEDIA_DIR", str(DATA_DIR / "media"))).resolve()
CHAT_MEDIA_STORAGE = env_str("CHAT_MEDIA_STORAGE", "django.core.files.storage.FileSystemStorage")
CHAT_MAX_IMAGES_PER_MESSAGE = env_int("CHAT_MAX_IMAGES_PER_MESSAGE", 4, minimum=1)
CHAT_IMAGE_MAX_PIXELS = env_int("CHAT_IMAGE_MAX_PIXELS", 1568, minimum=64)
CHAT_MAX_ATTACHMENT_CHARS = env_int("CHAT_MAX_ATTACHMENT_CHARS", 200_000, minimum=1)
CHAT_UPLOAD_MAX_BYTES = env_int("CHAT_UPLOAD_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
STORAGES["attachments"] = {
    "BACKEND": CHAT_MEDIA_STORAGE,
    "OPTIONS": (
        {"location": str(CHAT_MEDIA_DIR)}
        if CHAT_MEDIA_STORAGE == "django.core.files.storage.FileSystemStorage"
        else {}
    ),
}

# Request bodies are capped by the server (python -m chatsite.serve) before they are buffered;
# a larger one is answered 413. An upload to /import/ carries an export plus the form around it;
# anything else is a form or a first message, whose every character may take 12 bytes once
# URL-encoded. (Websocket messages have daphne's own 1 MiB limit.)
CHAT_IMPORT_REQUEST_MAX_BYTES = env_int(
    "CHAT_IMPORT_REQUEST_MAX_BYTES", CHAT_IMPORT_MAX_BYTES + 1024 * 1024, minimum=1024
)
CHAT_REQUEST_MAX_BYTES = env_int(
    "CHAT_REQUEST_MAX_BYTES",
    max(1024 * 1024, 12 * CHAT_MAX_MESSAGE_CHARS + 64 * 1024),
    minimum=1024,
)
# An attachment upload (/c/attachments/) carries one file and its multipart envelope.
CHAT_UPLOAD_REQUEST_MAX_BYTES = env_int(
    "CHAT_UPLOAD_REQUEST_MAX_BYTES", CHAT_UPLOAD_MAX_BYTES + 64 * 1024, minimum=1024
)

# /healthz names the Ollama servers, their versions and errors only to site admins and to
# requests carrying this token (Authorization: Bearer <token>, or ?token=<token>).
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN")
