from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr


@pytest.fixture
def token_key(settings: Any) -> str:
    """A fresh BROKER_TOKEN_KEY for this test (pytest-django restores settings.ENV after it)."""
    key = Fernet.generate_key().decode()
    settings.ENV = settings.ENV.model_copy(update={"BROKER_TOKEN_KEY": SecretStr(key)})
    return key
