"""Fixtures of the submission, export and report-API tests.

The figures are those of the hand-built province (tests/reports/province.py) as worked out in
tests/reports/test_figures.py, November 2026 with a 5% target: THCS01 3/52 cells (meets it),
THCS02 2/52 (THCS03 merged into it), THPT01 1/30; 6/134 cells in all, 1 of 3 schools meeting it.
"""
from __future__ import annotations

import email
import email.policy
import socket
from contextlib import contextmanager
from typing import Any, Iterator

from repository.services import reports
from tests.reports.province import build, local  # noqa: F401 (local: re-exported for the tests)

YEAR, NOVEMBER = "2026-2027", "month:2026-11"
DEPARTMENT = "Sở Giáo dục và Đào tạo tỉnh Ninh Bình"
OFFICER = "canbo@hoalu.ninhbinh.edu.vn"  # the unit officer of Phường Hoa Lư (14329)


def wire(app: Any) -> Any:
    """Register the report_exports blueprint on a test app that does not have it yet, before
    its first request (app.py registers it; this keeps the tests independent of that line)."""
    from repository.views import report_exports

    if "report_exports" not in app.blueprints:
        app.register_blueprint(report_exports.bp)
    return app


def make_province(app: Any, world: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    """The hand-built province with the 2026-2027 rules of the tests (target 5%), on a wired app."""
    wire(app)
    made = build(world, tmp_path)
    reports.set_year_rules(world["dept_admin"], YEAR, {"starts_on": "2026-09-05", "target_share": 0.05})
    return made


class Mailbox:
    """What a real SMTP server on 127.0.0.1 received."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def recipients(self) -> list[str]:
        return sorted(r for e in self.envelopes for r in e.rcpt_tos)

    def subjects(self) -> list[str]:
        return [email.message_from_bytes(e.content, policy=email.policy.default)["Subject"] for e in self.envelopes]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
