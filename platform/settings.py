"""Settings for every process (Daphne, Celery, manage.py), driven only by environment variables.

No variables at all gives the embedded default: SQLite, the in-memory channel layer and Celery
tasks run in-process. DATABASE_URL and REDIS_URL switch to the production wiring. Every variable
is documented in .env.example.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")

env = environ.Env()


def _require(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}={value!r} is not valid; use one of: {', '.join(allowed)}")
    return value


def _url(name: str, schemes: tuple[str, ...]) -> str | None:
    # A typo in a URL must stop start-up with the variable's name, not fail later inside a driver.
    value = env.str(name, default="") or None
    if value is not None and value.split("://", 1)[0] not in schemes:
        raise ImproperlyConfigured(f"{name} must start with one of {', '.join(s + '://' for s in schemes)}; got {value.split('://', 1)[0]!r}")
    return value


DATABASE_URL = _url("DATABASE_URL", ("postgres", "postgresql", "pgsql", "postgis", "sqlite"))
REDIS_URL = _url("REDIS_URL", ("redis", "rediss"))

# Production mode is whatever is not the embedded default; then secrets must be given explicitly.
EMBEDDED = DATABASE_URL is None and REDIS_URL is None
DEBUG = env.bool("DEBUG", default=EMBEDDED)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not EMBEDDED and not env.bool("ALLOW_INSECURE_SECRET_KEY", default=False):
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL or REDIS_URL is set (production mode)")
    SECRET_KEY = "embedded-demo-only-not-secret"  # noqa: S105 - only ever used by the embedded demo and tests

# Keys for broker secrets at rest (MultiFernet, newest first), independent of SECRET_KEY. The embedded
# demo makes one and keeps it in VAR_DIR; production must supply FERNET_KEYS.
FERNET_KEYS = env.list("FERNET_KEYS", default=[])
if not FERNET_KEYS:
    if not EMBEDDED:
        raise ImproperlyConfigured("FERNET_KEYS must be set in production mode (comma-separated Fernet keys, newest first)")
    _key_file = VAR_DIR / "fernet.keys"
    if not _key_file.exists():
        from cryptography.fernet import Fernet

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(Fernet.generate_key().decode())
        _key_file.chmod(0o600)
    FERNET_KEYS = _key_file.read_text().split(",")
for _key in FERNET_KEYS:
    try:
        import base64

        if len(base64.urlsafe_b64decode(_key.encode())) != 32:
            raise ValueError("not 32 bytes")
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"FERNET_KEYS holds a malformed key ({_exc}); make one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        ) from None

# The key of the account-number index (a keyed digest, so the encrypted numbers stay unique and
# searchable). Defaults to SECRET_KEY; set it separately to rotate SECRET_KEY freely, or run
# `manage.py rotate_credentials` after changing either (it recomputes the digests).
ACCOUNT_INDEX_KEY = env.str("ACCOUNT_INDEX_KEY", default="") or SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Market session clock: "krx" follows the real KRX calendar; "always" is for the embedded demo,
# so a newcomer at 11 p.m. can still see an order filled (the dashboard says the clock is simulated).
MARKET_HOURS = _require("MARKET_HOURS", env.str("MARKET_HOURS", default="krx"), ("krx", "always"))
# Orders placed while the market is closed: kept QUEUED for the next session, or DENIED.
OUTSIDE_HOURS_POLICY = _require("OUTSIDE_HOURS_POLICY", env.str("OUTSIDE_HOURS_POLICY", default="queue"), ("queue", "deny"))
# A SUBMITTED order with no answer from the worker after this long is resent (the worker dedupes by command id).
ORDER_RESEND_AFTER_S = env.int("ORDER_RESEND_AFTER_S", default=10)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "corsheaders",
    "apps.accounts",
    "apps.marketdata",
    "apps.orders",
    "apps.risk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "platform.urls"
ASGI_APPLICATION = "platform.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

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
                "django.template.context_processors.i18n",
                "apps.marketdata.context_processors.market_clock",
            ],
        },
    },
]

# DATABASES: SQLite file by default; DATABASE_URL (Postgres/Supabase) in production.
# CONN_MAX_AGE stays 0: under Daphne each request's ORM work runs on a fresh thread, so
# persistent connections would be orphaned (docs/deployment.md).
if DATABASE_URL:
    try:
        DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    except Exception as exc:  # django-environ raises several types for a malformed URL
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DISABLE_SERVER_SIDE_CURSORS", default=False)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # WAL lets the dashboard read while the worker link writes; the timeout rides out short write locks.
            "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CHANNEL LAYERS: Redis in production so Celery workers reach Daphne's consumers; in-memory for one process.
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 defaults every read to a 5 s timeout, the same as channels_redis' blocking pop:
            # a busy event loop then turns a normal empty pop into "Timeout reading" and kills the
            # consumer. A longer read timeout leaves room for the 5 s pop.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "capacity": 1000, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

# CELERY: the same task code everywhere; without a broker, tasks run inline in the calling process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Asia/Seoul"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_TIME_LIMIT = 300
# Without a beat process, Daphne runs the periodic order sweeps itself (apps/orders/embedded_beat.py).
EMBEDDED_BEAT = env.bool("EMBEDDED_BEAT", default=CELERY_TASK_ALWAYS_EAGER)
CELERY_TASK_SOFT_TIME_LIMIT = 60

# INTERNATIONALISATION: Korean first, English second; the market runs on Seoul time.
LANGUAGE_CODE = "ko-kr"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Daphne serves no static files itself; WhiteNoise does, straight from the app folders (no collectstatic step).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "EXCEPTION_HANDLER": "apps.orders.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kiwoom trading platform API",
    "DESCRIPTION": "Orders, accounts, positions and executions. Money is integer KRW; times are ISO 8601 with offset.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes a trading API: signed-in users and API tokens only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from our own static files (drf-spectacular-sidecar): the Content-Security-Policy allows no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# DASHBOARDS: live quotes per symbol per client, at most this many a second (newer values replace older ones).
QUOTE_UPDATES_PER_S = env.int("QUOTE_UPDATES_PER_S", default=4)

# WORKER LINK: frames larger than this are refused with an error frame (a tick batch is far smaller).
WORKER_MAX_FRAME_BYTES = env.int("WORKER_MAX_FRAME_BYTES", default=1_048_576)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}, "daphne": {"level": "WARNING"}},
}

# --- Security (docs/deployment.md; `manage.py check --deploy` is clean with production settings) ---
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    # Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.str("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = tuple(env.list("SECURE_PROXY_SSL_HEADER"))  # type: ignore[assignment]
# Load balancers probe health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Submitting the domain to the browsers' HSTS preload list is the operator's decision (SECURE_HSTS_PRELOAD=1), not a default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# The dashboards run on our own static files only: no inline scripts, no third-party origins.
# Inline style attributes stay allowed (htmx and the chart set element styles).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# CORS: only these origins may call the REST API from a browser (none by default).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

# Login throttling (django-axes): this many failures for one username from one address lock it out.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Two-factor authentication (TOTP, django-otp): required for the admin site and for every real-money
# action. Turning it off is for the embedded demo only.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=True)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Kiwoom Platform")

# --- risk (apps/risk; every variable is in .env.example) ---------------------------------------
# Alerts to admins: every active admin with an email address, plus these addresses.
RISK_ALERT_EMAILS = env.list("RISK_ALERT_EMAILS", default=[])
# A URL that receives every alert as a JSON POST (chat webhooks read its "text" field).
ALERT_WEBHOOK_URL = _url("ALERT_WEBHOOK_URL", ("http", "https"))
ALERT_WEBHOOK_TIMEOUT_S = env.int("ALERT_WEBHOOK_TIMEOUT_S", default=5)
# Mail: EMAIL_URL (smtp+tls://user:password@host:587) in production; without it mail is printed to the console.
# EMAIL_BACKEND and EMAIL_FILE_PATH override it (the end-to-end tests write mail to files).
_email = env.email_url_config(_url("EMAIL_URL", ("smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail")) or "consolemail://")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=_email["EMAIL_BACKEND"])
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="kiwoom-platform@localhost")
# Where an emergency stop runs: a Celery task in production; the embedded beat loop inside Daphne otherwise.
RISK_RUN_STOPS_IN_CELERY = env.bool("RISK_RUN_STOPS_IN_CELERY", default=not EMBEDDED_BEAT)
# How long the stop waits for in-flight orders to finish, then for its market sells to fill, before moving on.
RISK_EMERGENCY_WAIT_S = env.int("RISK_EMERGENCY_WAIT_S", default=30)
RISK_LIQUIDATION_WAIT_S = env.int("RISK_LIQUIDATION_WAIT_S", default=120)
# Consecutive bad readings before a monitor trips (one bad price must not stop trading).
RISK_MONITOR_READINGS = env.int("RISK_MONITOR_READINGS", default=3)
# A worker whose last heartbeat is older than this counts as disconnected (a killed server leaves its route behind).
RISK_WORKER_STALE_S = env.int("RISK_WORKER_STALE_S", default=30)
# --- end risk -----------------------------------------------------------------------------------
