"""`python -m repository.serve`: the embedded production server (gunicorn, threaded workers) for
`make run` and the benchmarks.

Gunicorn hands the request body to the application as it arrives, so a large upload is spooled,
hashed and — on S3 — sent in parts while it is still being received (a buffering server would
hold the whole body first). LISTEN is a space-separated list of host:port (default
127.0.0.1:5000 [::1]:5000); WORKERS and THREADS size the server. The defaults, 3 x 3, served
the load benchmark best on 2 cores (README, "Load benchmark"): threads of one process take turns
on Python's GIL, and with many of them gunicorn's own loop, which hands each request to a thread,
waits its turn too. An upload holds a thread for as long as it streams in.
"""
from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from app import create_app


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return create_app()


def main() -> None:
    _Server({
        "bind": os.environ.get("LISTEN", "127.0.0.1:5000 [::1]:5000").split(),
        "worker_class": "gthread",
        "workers": int(os.environ.get("WORKERS", "3")),
        "threads": int(os.environ.get("THREADS", "3")),
        "timeout": 120,  # the worker heartbeat; long uploads run in threads and are not cut by it
        "accesslog": "-",
        "loglevel": os.environ.get("LOG_LEVEL", "info").lower(),
        # gunicorn 27 opens a control socket at one fixed path per machine by default; several
        # servers on one host (tests, benchmarks, a second instance) would share it, and nothing
        # here uses it.
        "control_socket_disable": True,
    }).run()


if __name__ == "__main__":
    main()
