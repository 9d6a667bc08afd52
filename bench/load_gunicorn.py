"""Gunicorn settings for the load benchmark: the same server as `python -m repository.serve`
(threaded workers, each loading its own app after fork, so each holds its own index reader), plus
a per-worker stats file the benchmark reads.

Each worker writes LOAD_STATS_DIR/<pid>.json once a second and when it exits: the search result
cache's hit and miss counters (SearchIndex.cache_hits / cache_misses), the anonymous results
pages' (search.pages.PageCache hits / misses) and the process's resident memory. Read from the app object gunicorn loaded, so the application needs no stats endpoint.

    gunicorn -c bench/load_gunicorn.py        (bench/load.py sets the LOAD_* variables)
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

wsgi_app = "bench.load_gunicorn:application()"
# Settings the benchmark passes to the app as overrides (read even before the configuration
# table maps them from the environment).
PASSED = ("SEARCH_RESULT_MAX_AGE", "SEARCH_PAGE_MAX_AGE", "SEARCH_DOWNLOAD_BATCH_SECONDS")
bind = os.environ.get("LOAD_BIND", "127.0.0.1:5055").split()
worker_class = "gthread"
workers = int(os.environ.get("LOAD_WORKERS", "3"))
threads = int(os.environ.get("LOAD_THREADS", "3"))
timeout = 120
accesslog = os.environ.get("LOAD_ACCESS_LOG") or None
# The request line, status, size and the time the worker spent on the request (microseconds).
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(D)s'
loglevel = "warning"
STATS_DIR = Path(os.environ.get("LOAD_STATS_DIR", "/tmp/load-stats"))


def application() -> Any:
    """The app, as `app:create_app()`, with the PASSED settings found in the environment."""
    from app import create_app

    return create_app({name: os.environ[name] for name in PASSED if name in os.environ})


def _memory_kib() -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of this process, from /proc."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _sep, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def _write(worker: Any) -> None:
    search = worker.wsgi.extensions["search"]
    pages = worker.wsgi.extensions.get("search_pages")
    stats = {"pid": os.getpid(), "time": time.time(), "cache_hits": search.cache_hits,
             "cache_misses": search.cache_misses, "cache_on": search.results is not None,
             "page_hits": pages.hits if pages else 0, "page_misses": pages.misses if pages else 0, **_memory_kib()}
    target = STATS_DIR / f"{os.getpid()}.json"
    temporary = target.with_suffix(f".{threading.get_ident()}.tmp")  # the exit hook may race the loop
    temporary.write_text(json.dumps(stats))
    temporary.replace(target)  # the benchmark never reads a half-written file


def post_worker_init(worker: Any) -> None:
    if os.environ.get("LOAD_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["LOAD_SWITCH_INTERVAL"]))
    STATS_DIR.mkdir(parents=True, exist_ok=True)

    def loop() -> None:
        while True:
            _write(worker)
            time.sleep(1.0)

    threading.Thread(target=loop, name="load-stats", daemon=True).start()


def worker_exit(server: Any, worker: Any) -> None:
    if getattr(worker, "wsgi", None) is not None:
        _write(worker)
