from __future__ import annotations

from pathlib import Path

import pytest

from apps.core.embedded_redis import EmbeddedRedisError, ensure_redis, free_port, redis_answers


@pytest.mark.slow
def test_an_embedded_redis_starts_when_the_configured_one_does_not_answer(tmp_path: Path) -> None:
    port = free_port()
    url, server = ensure_redis(f"redis://127.0.0.1:{port}/3", data_dir=tmp_path)
    try:
        assert server is not None
        assert url == f"redis://127.0.0.1:{port}/3"
        assert redis_answers(url)
    finally:
        assert server is not None
        server.stop()
    assert not redis_answers(url)


def test_a_configured_redis_that_answers_is_used_as_is(tmp_path: Path, settings: pytest.FixtureRequest) -> None:
    url, server = ensure_redis(settings.REDIS_URL, data_dir=tmp_path)
    assert server is None
    assert url == settings.REDIS_URL


def test_a_remote_redis_that_does_not_answer_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedRedisError, match="not a local address"):
        ensure_redis("redis://10.255.255.1:6379/0", data_dir=tmp_path)
