"""Settings from environment variables, with embedded defaults for a laptop.

No DATABASE_URL means SQLite under var/; no REDIS_URL means Celery tasks run
in-process; no SECRET_KEY means a random key created once per install.
RELABEL_HTTPS=true is production: HTTPS only, and SECRET_KEY must come from the environment.
"""

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RELABEL_VAR_DIR", BASE_DIR / "var"))


def env_flag(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def install_secret_key():
    """A key generated on first start and kept in var/, never shipped in code."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def production_secret_key():
    """Every web process and worker of a deployment shares one strong key given in the environment."""
    key = os.environ.get("SECRET_KEY", "")
    if len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "RELABEL_HTTPS=true (production) needs SECRET_KEY in the environment: at least 50 random characters, "
            "the same for every web process and worker"
        )
    return key


DEBUG = env_flag("DEBUG")
HTTPS = env_flag("RELABEL_HTTPS")
SECRET_KEY = production_secret_key() if HTTPS else os.environ.get("SECRET_KEY") or install_secret_key()
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "taxonomy",
    "annotate",
    "accounts",
    "labelguide",
    "training",
    "evaluation",
    "consensus",
    "interchange",
    "testsets",
    "nearduplicates",
    "finalreview",
    "demo",
    "frontend",
]

# Where annotator-only accounts land (accounts.middleware): the new test sets whose grids they answer.
ANNOTATOR_HOME = "/testsets/"

MIDDLEWARE = [
    "config.timing.ServerTimingMiddleware",
    "config.resilience.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "config.security.RequestBodyLimitMiddleware",
    "config.security.NulInAddressMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AnnotatorOnlyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.errors.ErrorPagesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'relabel.sqlite3'}",
        # Django's development server starts a thread per request and never closes a thread's persistent
        # connection: under DEBUG each request gets a fresh connection instead, or a page of 48 images would hold
        # 48 of PostgreSQL's 100.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0" if DEBUG else "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server saves from several threads (and its in-process jobs from one more): with write-ahead
    # logging readers never wait for a writer, a writer waits up to `timeout` seconds for another instead of
    # failing with "database is locked", and IMMEDIATE transactions take the write lock when they start rather
    # than failing when a reading transaction first writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
# Password attempts per username and client address in a window of this many seconds, on the login page
# and the token endpoint alike (accounts.services).
LOGIN_FAILURE_LIMIT = int(os.environ.get("RELABEL_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW = int(os.environ.get("RELABEL_LOGIN_FAILURE_WINDOW", str(15 * 60)))
# Addresses of the reverse proxies in front of the app: from them, and only from them, the client's address is
# read from X-Forwarded-For (comma-separated; empty: the peer's address is the client's).
TRUSTED_PROXIES = frozenset(filter(None, (a.strip() for a in os.environ.get("RELABEL_TRUSTED_PROXIES", "").split(","))))
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"RELABEL_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network") from None
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
# Pillow refuses images above this many pixels (decompression bombs).
MAX_IMAGE_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", str(89_478_485)))
DISPLAY_IMAGE_SIZE = 512
# The Server-Timing header (config/timing.py): for development and the benches.
SERVER_TIMING = env_flag("RELABEL_SERVER_TIMING", default=DEBUG)
# Images one reviewer may hold leased at once: the one on screen, the one prefetched and a spare (two at least).
MAX_LEASES_PER_REVIEWER = max(2, int(os.environ.get("RELABEL_MAX_LEASES_PER_REVIEWER", "3")))
# Folders of the checkpoints that prediction jobs started over the API may load (comma-separated).
TORCH_CHECKPOINTS = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
CHECKPOINT_ROOTS = os.environ.get("RELABEL_CHECKPOINT_ROOTS", f"{TORCH_CHECKPOINTS},{VAR_DIR / 'checkpoints'}").split(
    ","
)
# Where the files named by manifest uris may live: prefixes such as s3://imagenet/ or
# https://data.example.org/imagenet/ (comma-separated). Uris are recorded, never fetched.
SOURCE_URI_ROOTS = [r.strip() for r in os.environ.get("RELABEL_SOURCE_URI_ROOTS", "s3://,gs://,https://").split(",")]

REDIS_URL = os.environ.get("REDIS_URL", "")
# Shared by every web process where there is Redis (login attempt counts must be), else per process.
# It shares Redis's database with the Celery queues: cache.clear() would empty them too.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "cache"}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"annotate.tasks.run_prediction_shard": {"queue": "gpu"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task whose worker died unacknowledged is handed out again after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
CELERY_RESULT_EXPIRES = 24 * 3600

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "DEFAULT_METADATA_CLASS": "config.metadata.Metadata",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.LimitOffsetPagination",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "PAGE_SIZE": 100,
    # `format` names export formats in this API, not renderers.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Relabel API",
    "DESCRIPTION": "Expert multi-label re-annotation of image-classification benchmarks.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Path parameters documented as what their URL converters match, so that an address made from the schema reaches
    # its view; ids are PostgreSQL integers (config/query.py).
    "PATH_CONVERTER_OVERRIDES": {
        "int": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
        "str": {"type": "string", "pattern": "^[^/]+$"},
    },
    # No badge image from validator.swagger.io: the docs page loads nothing from elsewhere.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # One schema name per choice set, used by several fields.
    "ENUM_NAME_OVERRIDES": {
        "VerdictEnum": "annotate.models.Verdict",
        "DecidedVerdictEnum": "annotate.models.DecidedVerdict",
        "ConsensusRuleEnum": "annotate.models.Rule",
        "ProblemReasonEnum": "annotate.models.ProblemReason",
        "NearDuplicateMetricEnum": "nearduplicates.models.Metric",
        "ScoreMetricEnum": "evaluation.scoring.METRICS",
    },
}

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Only the app's own scripts, styles, images and requests; no plugins, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    # Progress bars carry their computed width in a style attribute; any url() in one is still held to img-src.
    "style-src-attr": ["'unsafe-inline'"],
    # data: for the icon in the page head, an inline SVG.
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# JSON and form bodies stay under Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB); uploads (image folders
# go through import_images, not HTTP) under this.
MAX_UPLOAD_BYTES = int(os.environ.get("RELABEL_MAX_UPLOAD_BYTES", str(1024**3)))
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("RELABEL_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("RELABEL_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_flag("RELABEL_BEHIND_PROXY"):
        # Only behind a proxy that terminates TLS and sets this header itself, overwriting the client's.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS preloading is a promise to the browsers' preload list that only the domain's owner can make.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
