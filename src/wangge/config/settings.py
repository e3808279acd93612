"""Django settings for wangge (网格).

Everything a deployment changes comes from environment variables with safe defaults:
DEBUG is off unless asked for, secrets are generated into ``var/`` on first use (never
committed), and ``wangge check-deploy`` refuses a configuration that is only fit for a laptop.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

SRC_DIR = Path(__file__).resolve().parent.parent  # src/wangge
BASE_DIR = SRC_DIR.parent.parent  # the checkout
VAR_DIR = Path(os.environ.get("WANGGE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_from_file(path: Path, nbytes: int = 48) -> str:
    """Return the secret kept in ``path``, creating it (mode 0600) on first use.

    A generated per-installation secret is a safe default: it is never the same on two
    machines and never in the repository.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()


DEBUG = env_bool("WANGGE_DEBUG", False)
SECRET_KEY_SOURCE = "env" if os.environ.get("WANGGE_SECRET_KEY") else "file"
SECRET_KEY = os.environ.get("WANGGE_SECRET_KEY") or _secret_from_file(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("WANGGE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("WANGGE_CSRF_TRUSTED_ORIGINS", "")

# Key for field-level encryption of personal data (registry); generated on first use.
FIELD_KEY_FILE = Path(os.environ.get("WANGGE_FIELD_KEY_FILE", VAR_DIR / "field.key"))
# The file is the key ring (wangge.privacy.keyring): a fresh 32-byte key, or after
# `wangge rotate-key` the current key, the retired ones and the blind-index key as JSON.
# WANGGE_FIELD_KEYRING (the same JSON) overrides the file where secrets live in the environment.
# "standard" = AES-GCM + SHA-256; "gm" = the national suite 国密 (SM4-GCM + SM3).
CRYPTO_SUITE = os.environ.get("WANGGE_CRYPTO_SUITE", "standard")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "axes",
    "wangge.core",
    "wangge.regions",
    "wangge.accounts",
    "wangge.audit",
    "wangge.privacy",
    "wangge.workcalendar",
    "wangge.notifications",
    "wangge.cases",
    "wangge.figures",
    "wangge.evaluation",
    "wangge.command",
    "wangge.registry",
    "wangge.catalog",
    "wangge.gridwork",
    "wangge.linkage",
    "wangge.briefings",
    "wangge.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "wangge.core.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "wangge.audit.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "wangge.config.urls"
WSGI_APPLICATION = "wangge.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wangge.core.context_processors.platform",
                "wangge.notifications.context_processors.unread_messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'wangge.sqlite3'}"),
        conn_max_age=int(os.environ.get("WANGGE_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue instead of failing half-way with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Our queries are short index lookups; PostgreSQL's JIT would spend tens of milliseconds
    # compiling a SUM over a few hundred tally rows whose estimated cost looks large.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DATABASES["default"].setdefault("TEST", {})
if os.environ.get("WANGGE_TEST_DB_NAME"):
    DATABASES["default"]["TEST"]["NAME"] = os.environ["WANGGE_TEST_DB_NAME"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling and lock-out (django-axes): five failures for one user name from one
# address lock that pair out for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("WANGGE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("WANGGE_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("WANGGE_SESSION_SECONDS", str(8 * 3600)))
SESSION_COOKIE_SECURE = env_bool("WANGGE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("WANGGE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("WANGGE_HSTS_SECONDS", "0"))
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("WANGGE_BEHIND_TLS_PROXY") else None
)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [SRC_DIR / "locale"]
TIME_ZONE = os.environ.get("WANGGE_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end libraries come from the npm registry at set-up (package-lock.json) and are
# served by the platform itself: government intranets have no CDN.
STATICFILES_DIRS = [
    ("vendor/leaflet", NODE_MODULES / "leaflet" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/leaflet-heat", NODE_MODULES / "leaflet.heat" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(os.environ.get("WANGGE_MEDIA_ROOT", VAR_DIR / "media"))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "wangge",
    }
}

# Map: no external tiles by default (air-gapped intranets); set an intranet tile URL
# template such as http://tiles.intranet/{z}/{x}/{y}.png to show a base map.
MAP_TILE_URL = os.environ.get("WANGGE_MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = os.environ.get("WANGGE_MAP_TILE_ATTRIBUTION", "")

# locate(): a point in no grid is offered the nearest grid within this distance (metres).
LOCATE_NEAREST_METRES = float(os.environ.get("WANGGE_LOCATE_NEAREST_METRES", "200"))
# GeoJSON import: overlap between sibling grids, or outside the parent, tolerated up to
# this many square metres (digitising slivers).
GRID_OVERLAP_TOLERANCE_M2 = float(os.environ.get("WANGGE_GRID_OVERLAP_TOLERANCE_M2", "1.0"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("WANGGE_LOG_LEVEL", "WARNING")},
    # The log channel of notifications: what it "sends" must really reach a handler.
    "loggers": {"wangge.notifications": {"handlers": ["console"], "level": "INFO",
                                         "propagate": False}},
}

# Open311 GeoReport v2 (/open311/v2): the one jurisdiction this deployment serves.
OPEN311_JURISDICTION_ID = os.environ.get("WANGGE_OPEN311_JURISDICTION_ID", "wangge.local")
OPEN311_CONTACT = os.environ.get("WANGGE_OPEN311_CONTACT", "")
OPEN311_ENDPOINT_TYPE = os.environ.get("WANGGE_OPEN311_ENDPOINT_TYPE", "production")

# Duplicate suggestion at intake: same category, this close, this recent, this similar.
DUPLICATE_METRES = float(os.environ.get("WANGGE_DUPLICATE_METRES", "100"))
DUPLICATE_HOURS = float(os.environ.get("WANGGE_DUPLICATE_HOURS", "72"))
DUPLICATE_MIN_SIMILARITY = float(os.environ.get("WANGGE_DUPLICATE_MIN_SIMILARITY", "0.3"))

# Notification channels beyond the in-app inbox. SMS and WeChat stay "not configured" (and
# never claim a send) until a gateway callable is named by its dotted path.
NOTIFY_CHANNELS = env_list("WANGGE_NOTIFY_CHANNELS", "log")
NOTIFY_SMS_GATEWAY = os.environ.get("WANGGE_SMS_GATEWAY", "")
NOTIFY_WECHAT_GATEWAY = os.environ.get("WANGGE_WECHAT_GATEWAY", "")
NOTIFY_LOG_LEVEL = "INFO"

# Working hours for step deadlines (工作时间), wall clock in TIME_ZONE; holidays and 调休 come
# from chinesecalendar and administrators' day overrides.
WANGGE_WORKCALENDAR = {
    "TIME_ZONE": TIME_ZONE,
    "PERIODS": [("09:00", "12:00"), ("13:30", "17:30")],
    "OVERRIDE_CACHE_SECONDS": 60,
}

# Figures (统计): case changes are journalled for the tallies in the case's own transaction.
# Off only to measure what keeping them costs (bench/dashboard.py); then `wangge figures
# rebuild` is needed before the figures are right again.
FIGURES_LIVE = os.environ.get("WANGGE_FIGURES_LIVE", "1") not in ("0", "false", "off")
