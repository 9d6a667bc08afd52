"""Rate limits per token and per client address, counted in memory for one process and in Redis
(a real server on 127.0.0.1:6379) when REDIS_URL is set, so that several workers share counts."""
from __future__ import annotations

from typing import Any

import pytest
import redis

from tests.api.helpers import bearer, token_for

REDIS_URL = "redis://127.0.0.1:6379/15"


def _statuses(client: Any, headers: dict[str, str], count: int) -> list[int]:
    return [client.get("/api/v1/vocabularies", headers=headers).status_code for _ in range(count)]


def test_limits_per_token_and_per_address(app_with: Any, world: dict[str, Any]) -> None:
    app = app_with(API_RATE_LIMIT="3 per minute", API_IP_RATE_LIMIT="5 per minute")
    client = app.test_client()
    first, second = token_for(world["teacher"]), token_for(world["teacher2"])
    assert _statuses(client, bearer(second), 2) == [200, 200]
    assert _statuses(client, bearer(first), 4) == [200, 200, 200, 429]  # the token's own limit
    # The second token has used 2 of its 3, but the address has used its 5.
    assert _statuses(client, bearer(second), 1) == [429]
    refused = client.get("/api/v1/vocabularies", headers=bearer(second))
    assert refused.is_json and refused.get_json()["error"]["code"] == 429
    elsewhere = app.test_client()
    response = elsewhere.get("/api/v1/vocabularies", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 200


def test_redis_url_switches_counting_to_redis(app_with: Any, world: dict[str, Any]) -> None:
    """Database 15 of the local Redis belongs to this test: it is emptied before and after."""
    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.ConnectionError:
        pytest.fail("Redis must run on 127.0.0.1:6379 for this test (it does in CI)")
    server.flushdb()
    settings = {"REDIS_URL": REDIS_URL, "API_RATE_LIMIT": "100 per minute", "API_IP_RATE_LIMIT": "4 per minute"}
    worker_a, worker_b = app_with(**settings), app_with(**settings)
    assert worker_a.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    try:
        # Two app instances (as two worker processes would be) share one count, across endpoints.
        assert _statuses(worker_a.test_client(), {}, 2) == [200, 200]
        assert worker_b.test_client().get("/api/v1/openapi.json").status_code == 200
        assert _statuses(worker_b.test_client(), {}, 2) == [200, 429]
        counters = [key for key in server.scan_iter("*api-ip*")]
        assert len(counters) == 1 and int(server.get(counters[0])) >= 4
    finally:
        server.flushdb()
        server.close()


def test_without_redis_url_counting_stays_in_memory(app: Any) -> None:
    assert app.config["REDIS_URL"] == "" and app.config["RATELIMIT_STORAGE_URI"] == "memory://"
