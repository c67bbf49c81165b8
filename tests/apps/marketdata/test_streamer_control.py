"""Streamers as the platform sees them (known, switched on or off, running) and their control:
switching one off and on through the runtime setting, and asking one to subscribe again."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.exceptions import BadInputError, NotFoundError
from apps.core.models import RuntimeSetting
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value
from apps.core.services import runtime_setting_update
from apps.marketdata.services.streamer_control import streamer_enable, streamer_resubscribe_request
from apps.marketdata.streamer_names import streamer_configured, streamer_names
from apps.marketdata.streamer_status import streamer_known, streamers_status_list

pytestmark = pytest.mark.django_db


def test_configured_streamers_and_live_processes_are_listed_with_their_status() -> None:
    alive = {"state": "reconnecting", "reconnects": "7", "updated_at": utc_now().isoformat()}
    get_redis().hset(keys.streamer("uw"), mapping=alive)
    runtime_setting_update(key="marketdata.disabled_streamers", value=["schwab", "simulator"])
    states = {state.name: state for state in streamers_status_list()}
    configured = {name for name in streamer_names() if streamer_configured(name)}
    # uw is not set up here but its process is alive; schwab is switched off and not set up;
    # replay runs on demand and is not running.
    assert configured == {"simulator"}
    assert set(states) == {"simulator", "uw"}
    assert (states["uw"].enabled, states["uw"].state, states["uw"].status) == (True, "reconnecting", alive)
    assert (states["simulator"].enabled, states["simulator"].state, states["simulator"].status) == (
        False,
        "disabled",
        {},
    ), "switched off and never ran"
    assert streamer_known(name="uw")
    assert streamer_known(name="replay"), "a control request may name a feed that is not running"
    assert not streamer_known(name="bloomberg")


def test_a_switch_made_in_another_process_shows_at_once() -> None:
    assert runtime_value("marketdata.disabled_streamers") == []  # this process's cache
    RuntimeSetting.objects.update_or_create(key="marketdata.disabled_streamers", defaults={"value": ["simulator"]})
    states = {state.name: state.enabled for state in streamers_status_list()}
    assert states["simulator"] is False


def test_stop_and_start_follow_the_runtime_setting_and_repeat_harmlessly() -> None:
    operator = User.objects.create_user(username="operator", is_staff=True)
    assert streamer_enable(name="simulator", enabled=False, actor=operator) == {
        "streamer": "simulator",
        "enabled": False,
        "disabled_streamers": ["simulator"],
    }
    stored = RuntimeSetting.objects.get(key="marketdata.disabled_streamers")
    assert (stored.value, stored.updated_by) == (["simulator"], operator)
    assert streamer_enable(name="simulator", enabled=False)["disabled_streamers"] == ["simulator"]
    streamer_enable(name="replay", enabled=False)
    assert streamer_enable(name="simulator", enabled=True)["disabled_streamers"] == ["replay"]
    assert {state.name: state.enabled for state in streamers_status_list()}["simulator"] is True


def test_a_name_no_streamer_can_have_is_bad_input_and_an_unknown_one_is_not_found() -> None:
    with pytest.raises(BadInputError) as bad:
        streamer_enable(name="Bad Name", enabled=False)
    assert bad.value.field == "name"
    with pytest.raises(NotFoundError, match="unknown streamer 'bloomberg'"):
        streamer_enable(name="bloomberg", enabled=False)
    with pytest.raises(NotFoundError):
        streamer_resubscribe_request(name="bloomberg", requested_by="operator")
    assert not RuntimeSetting.objects.filter(key="marketdata.disabled_streamers", value=["bloomberg"]).exists()
    assert get_redis().xlen(keys.streamer_control("bloomberg")) == 0


def test_a_resubscribe_request_is_left_on_the_streamers_control_stream() -> None:
    result = streamer_resubscribe_request(name="simulator", requested_by="operator")
    entries = get_redis().xrange(keys.streamer_control("simulator"))
    assert [entry_id.decode() for entry_id, _ in entries] == [result["request_id"]]
    assert entries[0][1][b"action"] == b"resubscribe"
    assert entries[0][1][b"requested_by"] == b"operator"
    assert result["streamer"] == "simulator"
