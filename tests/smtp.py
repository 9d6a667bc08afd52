"""A real SMTP server on 127.0.0.1 for the e-mail tests (aiosmtpd), and what it received."""
from __future__ import annotations

import email
import email.policy
import socket
from contextlib import contextmanager
from typing import Any, Iterator, Optional


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes]

    def recipients(self) -> list[str]:
        return sorted(r for e in self.envelopes for r in e.rcpt_tos)

    def subjects(self) -> list[str]:
        return [message["Subject"] for message in self.messages()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(tls_context: Optional[Any] = None) -> Iterator[tuple[Mailbox, int]]:
    """A running server and its mailbox; (box, port)."""
    from aiosmtpd.controller import Controller

    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=tls_context)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
