"""Settings shared by every process. Values come from `pipeline_project.env`, never os.environ."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from apps.core.queues import Queue
from apps.core.structured_logging import configure_structlog, logging_config
from pipeline_project.env import BASE_DIR, ConfigProblem, exit_for, load_env_or_exit

ENV = load_env_or_exit()

DEBUG = ENV.DJANGO_DEBUG
SECRET_KEY = ENV.DJANGO_SECRET_KEY.get_secret_value()
ALLOWED_HOSTS = ENV.DJANGO_ALLOWED_HOSTS

INSTALLED_APPS = [
    "django_prometheus",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_celery_beat",
    "apps.core",
    "apps.marketdata",
    "apps.storage",
    "apps.gex",
    "apps.uw",
    "apps.batch",
    "apps.accounts",
    "apps.brokers",
    "apps.alerts",
    "apps.monitoring",
    "apps.trading",
    "ninja",  # serves the API docs' Swagger UI from our static files, not a CDN
    "apps.api",
    "apps.dashboard",
    "apps.realtime",
    "streamers",
    "bot",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.api.middleware.APIRequestLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.RuntimeConfigMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "pipeline_project.urls"
ASGI_APPLICATION = "pipeline_project.asgi.application"

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
            ],
        },
    },
]

_database = dj_database_url.parse(ENV.DATABASE_URL, conn_max_age=60, conn_health_checks=True)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _name = str(_database["NAME"])
    if not _name.startswith("/") and _name != ":memory:":
        _database["NAME"] = str(BASE_DIR / _name)
    if _database["NAME"] != ":memory:":
        try:
            Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        except OSError as _error:
            exit_for(
                [
                    ConfigProblem(
                        "DATABASE_URL",
                        f"cannot create the SQLite file's directory {Path(_database['NAME']).parent}: "
                        f"{_error.strerror or _error}",
                    )
                ]
            )
    # Several processes share one SQLite file when embedded: wait for locks, don't fail.
    _database["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    _database["CONN_MAX_AGE"] = 0
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# The dashboard's own files and the vendored chart library live outside any app.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# The embedded run serves static files straight from the apps, without collectstatic.
WHITENOISE_USE_FINDERS = True

# Redis: one URL for the hot store, pub/sub and (by default) the broker.
REDIS_URL = str(ENV.REDIS_URL)
# The hot store (market-data streams, last values, GEX and UW streams, the flush's checkpoints) on
# a Redis Cluster when set: its seed nodes. Empty: the hot store is REDIS_URL. The broker, runtime
# configuration, locks and process status stay on REDIS_URL either way (apps/core/redis.py).
REDIS_CLUSTER_URLS = list(ENV.REDIS_CLUSTER_URLS)
LAKE_DIR = ENV.lake_dir
GEXBOT_ENABLED = ENV.GEXBOT_ENABLED
SIERRA_CHART_DIR = ENV.sierra_chart_dir
SIERRA_FILE_MODE = ENV.sierra_file_mode
LOG_LEVEL = ENV.LOG_LEVEL
FLUSH_FAILPOINT = ENV.FLUSH_FAILPOINT
ALERTS_FAILPOINT = ENV.ALERTS_FAILPOINT
RUNTIME_CONFIG_REFRESH_SECONDS = ENV.RUNTIME_CONFIG_REFRESH_SECONDS
# WebSockets (apps/realtime): frames queued per connection before a slow client is closed with
# 4008 (trades, alerts) or conflated to the newest frame per symbol (depth, gex, sc). Frames are
# shared between clients, so the cost is references, not copies.
REALTIME_QUEUE_FRAMES = 500
# A trades client resuming from a position the hot store dropped gets what the lake holds after
# it, up to this many trades; further behind, it is told to use /api/ticks and continues live.
REALTIME_RESUME_MAX_TRADES = 500_000
BEAT_LOCK_TTL_SECONDS = ENV.BEAT_LOCK_TTL_SECONDS

# Celery (read by pipeline_project/celery.py with namespace="CELERY")
CELERY_BROKER_URL = ENV.broker_url
CELERY_RESULT_BACKEND = ENV.result_backend
CELERY_RESULT_EXPIRES = 24 * 3600
# Longer than the longest task's hard time limit (a test checks), or Redis redelivers
# a task that is still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": ENV.CELERY_VISIBILITY_TIMEOUT_SECONDS}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": ENV.CELERY_VISIBILITY_TIMEOUT_SECONDS}
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_DEFAULT_QUEUE = Queue.DEFAULT.value
CELERY_TASK_ROUTES = {
    # History imports run on the batch queue so they never delay live GEX polling.
    "apps.gex.tasks.gex_history_import": {"queue": Queue.BATCH.value},
    **{f"apps.{app}.*": {"queue": queue.value} for app, queue in Queue.routes()},
}
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = ENV.CELERY_WORKER_CONCURRENCY
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "apps.core.beat:LockedDatabaseScheduler"
# Write last_run_at after every sent task, so a standby beat that takes over knows what ran.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_BEAT_MAX_LOOP_INTERVAL = 5

FLOWER_BASIC_AUTH = ENV.FLOWER_BASIC_AUTH.get_secret_value()

configure_structlog(fmt=ENV.LOG_FORMAT)
LOGGING = logging_config(level=ENV.LOG_LEVEL, fmt=ENV.LOG_FORMAT)
