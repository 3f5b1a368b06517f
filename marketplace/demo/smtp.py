"""A real SMTP server on a free loopback port (aiosmtpd), for `make run` and the tests: mail
goes out over SMTP exactly as in production and lands here instead of in someone's inbox.
aiosmtpd comes with the test requirements (what `make run` installs), not with production's."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Inbox:
    """What the server received: parsed messages, in order; `echo` prints a line for each;
    recipients in `refuse` are answered 550 (what a real server says of an unknown mailbox)."""

    messages: list[EmailMessage] = field(default_factory=list)
    echo: bool = False
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        """aiosmtpd's hook: accept the recipient unless it is to be refused."""
        if address.lower() in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: keep the message (its name is aiosmtpd's)."""
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        if self.echo:
            print(f"[smtp] mail to {message['To']}: {message['Subject']}", flush=True)
        return "250 Message accepted for delivery"

    def received(self) -> list[EmailMessage]:
        """A copy of the messages received so far."""
        with self.lock:
            return list(self.messages)


class LocalSMTP:
    """An SMTP server on HOST:port in a background thread; start() and stop()."""

    def __init__(self, port: int | None = None, *, echo: bool = False) -> None:
        self.inbox = Inbox(echo=echo)
        self.port = port or free_port()
        self._controller = Controller(self.inbox, hostname=HOST, port=self.port)

    def start(self) -> LocalSMTP:
        """Listen (returns once the server answers)."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()

    def config(self) -> dict[str, Any]:
        """The MAIL_* settings that point the site at this server."""
        return {
            "MAIL_SERVER": HOST,
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_USERNAME": "",
            "MAIL_PASSWORD": "",
        }
