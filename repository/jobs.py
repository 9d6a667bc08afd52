"""Background jobs: an RQ queue on Redis when REDIS_URL is set, run inline otherwise.

Rules: a job is the dotted path of a module-level function with plain arguments (ids, strings),
so the worker reads the current state from the database itself. RQ delivers a job at least once
and a failed job may be retried, so every job must be harmless to run twice. Callers enqueue only
after their commit, or the worker could look for rows it cannot see yet. When Redis cannot be
reached the job runs inline: the request is slower, but no work is lost.
"""
from __future__ import annotations

import importlib
import logging
from typing import Any, Callable, Optional, Sequence

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry, SimpleWorker

log = logging.getLogger(__name__)
_REDIS_KEY = "jobs.redis"
FAILED_KEPT_SECONDS = 7 * 24 * 3600


def resolve(func_path: str) -> Callable[..., Any]:
    """The function named by a dotted path such as "repository.mail.send_now"."""
    module, _, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def queued() -> bool:
    """Whether jobs of this app go to the queue (REDIS_URL set) rather than run inline."""
    return bool(current_app.config.get("REDIS_URL"))


def _connection() -> Redis:
    """One client (and connection pool) per app; redis-py clients are thread-safe."""
    client = current_app.extensions.get(_REDIS_KEY)
    if client is None:
        # Short timeouts: a request that enqueues must not hang on a dead Redis.
        client = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=5, socket_timeout=30)
        current_app.extensions[_REDIS_KEY] = client
    return client


def queue() -> Queue:
    """The app's queue (JOBS_QUEUE on REDIS_URL), with JOBS_TIMEOUT as each job's time limit."""
    config = current_app.config
    return Queue(config["JOBS_QUEUE"], connection=_connection(), default_timeout=int(config["JOBS_TIMEOUT"]))


def enqueue(func_path: str, *args: Any, retry_intervals: Sequence[int] = ()) -> Optional[str]:
    """Run `func_path(*args)` through the queue when REDIS_URL is set, else now; returns the job
    id when queued, None when it ran inline. A queued job that fails is retried once per entry of
    `retry_intervals` (seconds to wait before each retry); an inline one raises to the caller."""
    function = resolve(func_path)  # a wrong path fails here, at the caller, not later in a worker
    if queued():
        retry = Retry(max=len(retry_intervals), interval=list(retry_intervals)) if retry_intervals else None
        try:
            # The description is what RQ logs: the path only, since arguments can be e-mail text
            # with one-time links. A failed job is kept a week for the operator to look at.
            job = queue().enqueue(perform, func_path, *args, retry=retry, description=func_path,
                                  failure_ttl=FAILED_KEPT_SECONDS)
            return job.id
        except RedisError as error:
            log.warning("job queue unreachable (%s); running %s inline", error, func_path)
    function(*args)
    return None


def perform(func_path: str, *args: Any) -> None:
    """Run one queued job in a fresh context of the worker's app (`flask --app app jobs worker`
    provides it), so each job has its own database session and a failed job leaves nothing behind
    for the next one. Returns nothing: RQ would pickle a result."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        resolve(func_path)(*args)


def worker() -> SimpleWorker:
    """A worker on the app's queue that runs jobs in its own process, reusing the app and its
    database pool. RQ's default forks a child per job for isolation; here the risky parsing of
    uploads already runs in a sandboxed child with time and memory limits (processing/_sandbox.py),
    and a fork would inherit the parent's pooled database connections."""
    return SimpleWorker([queue()], connection=_connection())
