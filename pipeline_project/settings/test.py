"""Tests: a real Redis (the configured one on its own DB number, else an embedded one) and a
real database (PostgreSQL when DATABASE_URL names one, else an SQLite file that subprocesses
started by tests can open too)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# A developer's .env must not leak into tests.
os.environ["PIPELINE_ENV_FILE"] = os.devnull

from apps.core.embedded_redis import ensure_redis, with_db
from pipeline_project.env import load_env_or_exit

_env = load_env_or_exit(use_env_file=False)
_url, _embedded = ensure_redis(
    str(_env.REDIS_URL), data_dir=Path(tempfile.mkdtemp(prefix="pipeline-redis-")), any_port=True
)
# Subprocesses started by tests (workers, beats) inherit the resolved URL.
os.environ["REDIS_URL"] = with_db(_url, _env.TEST_REDIS_DB)
os.environ.setdefault("LAKE_DIR", tempfile.mkdtemp(prefix="pipeline-lake-"))

from .base import *  # noqa: E402, F403
from .base import DATABASES  # noqa: E402

SECRET_KEY = "test-only-key"  # noqa: S105 - tests only
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"pipeline-test-{os.getpid()}.sqlite3")}
# Threads of servers that tests run in-process (uvicorn, Channels' database_sync_to_async) would
# keep a connection open for CONN_MAX_AGE, and PostgreSQL refuses to drop the test database while
# one is open. Closed after each use instead.
DATABASES["default"]["CONN_MAX_AGE"] = 0
