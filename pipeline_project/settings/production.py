"""Production: every secret must come from the environment, and nothing meant for a developer's
machine (debug pages, an empty host list, a guessable key) may reach it."""

from __future__ import annotations

from pipeline_project.env import BASE_DIR, ConfigProblem, exit_for

from .base import *  # noqa: F403
from .base import ENV

# Django's own bar for a key (`check --deploy`, security.W009): long and varied enough to guess.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5

_problems = []
_key = ENV.DJANGO_SECRET_KEY.get_secret_value()
if not _key:
    _problems.append(ConfigProblem("DJANGO_SECRET_KEY", "is required in production"))
elif len(_key) < SECRET_KEY_MIN_LENGTH or len(set(_key)) < SECRET_KEY_MIN_UNIQUE or _key.startswith("django-insecure-"):
    # Lengths only: the key itself is never printed.
    _problems.append(
        ConfigProblem(
            "DJANGO_SECRET_KEY",
            f"is too weak for production ({len(_key)} characters, {len(set(_key))} different): use at least "
            f"{SECRET_KEY_MIN_LENGTH} random characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`",
        )
    )
if ENV.DJANGO_DEBUG:
    _problems.append(ConfigProblem("DJANGO_DEBUG", "must be false in production: debug pages show settings and code"))
if not ENV.DJANGO_ALLOWED_HOSTS:
    _problems.append(
        ConfigProblem(
            "DJANGO_ALLOWED_HOSTS", "is empty: production would refuse every request; list the site's host names"
        )
    )
if not ENV.FLOWER_BASIC_AUTH.get_secret_value():
    _problems.append(ConfigProblem("FLOWER_BASIC_AUTH", "is required in production (user:password)"))
if not ENV.METRICS_TOKEN.get_secret_value():
    # Without it /metrics answers loopback clients only, and Prometheus scrapes from elsewhere
    # (deploy/prometheus/prometheus.yml sends this token).
    _problems.append(ConfigProblem("METRICS_TOKEN", "is required in production: Prometheus scrapes /metrics with it"))
if _problems:
    exit_for(_problems)

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
WHITENOISE_USE_FINDERS = False
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"  # filled by `manage.py collectstatic`
