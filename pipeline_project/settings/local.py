"""The embedded single-machine run (`make run`)."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import ENV

# An insecure key is acceptable only on one's own machine; production requires the variable.
SECRET_KEY = ENV.DJANGO_SECRET_KEY.get_secret_value() or "local-only-insecure-key-do-not-deploy"
