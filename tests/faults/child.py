"""The application in a child process that a test kills with SIGKILL at a point it chose.

    python -m tests.faults.child DATABASE_URL CONFIG_JSON serve          # prints its port
    python -m tests.faults.child DATABASE_URL CONFIG_JSON cli search reindex

With FAULT_HALT set, the process stops at one point, prints HALTED and waits there for the
test's SIGKILL (nothing is mocked: the process simply goes no further, as if the machine
had died at that instant):

- ``sql:INSERT INTO materials``: before the first statement starting so (an upload's rows);
- ``put``: when the local store has written a file's bytes, before moving it into place;
- ``build:N``: when a rebuild has handed N documents to its Whoosh writer;
- ``writing``: when the applier has handed its documents to the Whoosh writer, before its commit;
- ``applied``: when the applier has committed to Whoosh, before it saves its cursor (use it on a
  command that only applies the log, such as ``search worker --once`` on an existing index).
"""
from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Callable

HALTED = "HALTED"

def halt() -> None:
    """Tell the test where we are (a line on standard output), then wait for the kill. Written to
    the descriptor itself: a command's CliRunner has replaced sys.stdout."""
    os.write(1, f"{HALTED}\n".encode())
    threading.Event().wait()


def _halt_before_sql(prefix: str) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(prefix.upper()):
            halt()

    event.listen(Engine, "before_cursor_execute", before)


def _halt_in_put() -> None:
    from storage import local

    sync = local._sync

    def synced_then_halt(fd: int) -> None:
        sync(fd)
        halt()

    local._sync = synced_then_halt


def _halt_in_build(after: int) -> None:
    from search import documents

    all_documents = documents.all_documents

    def counted(session: Any) -> Any:
        for n, doc in enumerate(all_documents(session), start=1):
            yield doc
            if n == after:
                halt()

    documents.all_documents = counted


def _halt_while_writing() -> None:
    from search.service import SearchIndex

    write_docs = SearchIndex._write_docs

    def written_then_halt(self: Any, writer: Any, session: Any, ids: set[int]) -> None:
        write_docs(self, writer, session, ids)
        halt()

    SearchIndex._write_docs = written_then_halt  # type: ignore[method-assign]


def _halt_after_apply() -> None:
    from search import applier

    save = applier.Cursor.save

    def halted(self: Any, directory: Path) -> None:
        halt()
        save(self, directory)

    applier.Cursor.save = halted  # type: ignore[method-assign]


HALTS: dict[str, Callable[[str], None]] = {
    "sql": _halt_before_sql,
    "put": lambda _arg: _halt_in_put(),
    "build": lambda arg: _halt_in_build(int(arg)),
    "writing": lambda _arg: _halt_while_writing(),
    "applied": lambda _arg: _halt_after_apply(),
}


def main(argv: list[str]) -> int:
    url, config, mode, rest = argv[0], json.loads(argv[1]), argv[2], argv[3:]
    kind, _sep, arg = os.environ.get("FAULT_HALT", "").partition(":")
    if kind:
        HALTS[kind](arg)
    from tests.helpers import make_app

    app = make_app(url, **config)
    if mode == "serve":
        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", 0, app, threaded=True)
        print(server.server_port, flush=True)
        server.serve_forever()
        return 0
    with app.app_context():
        result = app.test_cli_runner().invoke(args=rest, catch_exceptions=False)
    sys.stdout.write(result.output)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
