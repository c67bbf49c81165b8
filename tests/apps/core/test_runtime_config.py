"""Runtime settings edited in the admin reach running processes without a restart."""

from __future__ import annotations

import logging
import subprocess
import time
from typing import Any

import pytest
from django.test import Client

from apps.core import keys
from apps.core.models import RuntimeSetting
from apps.core.redis import get_redis
from apps.core.runtime_config import refresh_if_stale, runtime_value
from apps.core.runtime_settings import RuntimeSettingError, all_specs
from apps.core.services import runtime_setting_update, runtime_settings_sync


def change_in_admin(client: Client, key: str, value: str) -> Any:
    setting = RuntimeSetting.objects.get(key=key)
    return client.post(f"/admin/core/runtimesetting/{setting.pk}/change/", {"value": value})


@pytest.fixture
def restore_log_level() -> Any:
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


@pytest.mark.django_db(transaction=True)
def test_admin_change_is_stored_announced_and_applied(admin_client: Client, restore_log_level: None) -> None:
    assert runtime_value("core.log_level") == ""
    response = change_in_admin(admin_client, "core.log_level", '"DEBUG"')
    assert response.status_code == 302, response.content.decode()
    setting = RuntimeSetting.objects.get(key="core.log_level")
    assert setting.value == "DEBUG"
    assert setting.updated_by is not None
    assert setting.updated_by.username == "admin"
    assert int(get_redis().get(keys.RUNTIME_CONFIG_VERSION) or 0) >= 1
    refresh_if_stale(force=True)
    assert runtime_value("core.log_level") == "DEBUG"
    assert logging.getLogger().level == logging.DEBUG


@pytest.mark.django_db
def test_admin_refuses_a_value_of_the_wrong_type_naming_the_setting(admin_client: Client) -> None:
    response = change_in_admin(admin_client, "core.log_level", '"LOUD"')
    assert response.status_code == 200
    assert "core.log_level" in response.content.decode()
    assert RuntimeSetting.objects.get(key="core.log_level").value == ""


@pytest.mark.django_db
def test_admin_lists_settings_with_meaning_and_default(admin_client: Client) -> None:
    page = admin_client.get("/admin/core/runtimesetting/").content.decode()
    assert "core.log_level" in page
    assert "LOG_LEVEL environment variable" in page


@pytest.mark.django_db
def test_unknown_setting_is_an_error() -> None:
    with pytest.raises(RuntimeSettingError, match=r"unknown runtime setting 'core\.nope'"):
        runtime_setting_update(key="core.nope", value=1)
    with pytest.raises(RuntimeSettingError, match="unknown runtime setting"):
        runtime_value("core.nope")


@pytest.mark.django_db
def test_sync_creates_missing_rows_and_keeps_edited_values() -> None:
    runtime_setting_update(key="core.log_level", value="WARNING")
    assert runtime_settings_sync() == []
    assert RuntimeSetting.objects.get(key="core.log_level").value == "WARNING"
    RuntimeSetting.objects.all().delete()
    assert runtime_settings_sync() == [spec.key for spec in all_specs()]
    assert RuntimeSetting.objects.get(key="core.log_level").value == ""


@pytest.mark.slow
def test_admin_change_reaches_an_already_running_worker(
    admin_client: Client, worker_process: subprocess.Popen[bytes]
) -> None:
    from apps.core.tasks import runtime_config_snapshot

    before = runtime_config_snapshot.delay().get(timeout=30)
    assert before["values"]["core.log_level"] == ""
    assert before["effective_log_level"] == "INFO"

    assert change_in_admin(admin_client, "core.log_level", '"WARNING"').status_code == 302

    deadline = time.monotonic() + 15
    seen = before
    while seen["values"]["core.log_level"] != "WARNING" and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = runtime_config_snapshot.delay().get(timeout=30)
    assert seen["values"]["core.log_level"] == "WARNING"
    assert seen["effective_log_level"] == "WARNING"
    assert worker_process.poll() is None, "the worker was restarted"
    assert seen["pid"] == before["pid"], "the task ran in another process than before the change"
