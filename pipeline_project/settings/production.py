"""Production: every secret must come from the environment."""

from __future__ import annotations

import sys

from pipeline_project.env import BASE_DIR, ConfigError, ConfigProblem

from .base import *  # noqa: F403
from .base import ENV

_problems = []
if not ENV.DJANGO_SECRET_KEY.get_secret_value():
    _problems.append(ConfigProblem("DJANGO_SECRET_KEY", "is required in production"))
if not ENV.FLOWER_BASIC_AUTH.get_secret_value():
    _problems.append(ConfigProblem("FLOWER_BASIC_AUTH", "is required in production (user:password)"))
if _problems:
    sys.stderr.write(f"data-pipeline cannot start: {ConfigError(_problems)}\n")
    raise SystemExit(2)

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
WHITENOISE_USE_FINDERS = False
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"  # filled by `manage.py collectstatic`
