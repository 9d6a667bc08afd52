"""`python -m repository.serve`: the embedded production server (waitress) for `make run`.

Waitress refuses request bodies over its own limit (1 GiB by default) before the application sees
them, so the limit is set from UPLOAD_MAX_BYTES here, the same way the upload endpoints raise
Flask's. LISTEN is a space-separated list of host:port (default: 127.0.0.1:5000 [::1]:5000).
"""
from __future__ import annotations

import logging
import os

from waitress import serve

from app import create_app
from repository.uploads import upload_body_limit


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    listen = os.environ.get("LISTEN", "127.0.0.1:5000 [::1]:5000")
    threads = int(os.environ.get("THREADS", "8"))
    with app.app_context():
        body_limit = upload_body_limit()
    serve(app, listen=listen, threads=threads, max_request_body_size=body_limit)


if __name__ == "__main__":
    main()
