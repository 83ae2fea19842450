"""A real SMTP server on 127.0.0.1 for the email tests: aiosmtpd, keeping what it receives.

    with SmtpServer() as server:                       plain SMTP, no login
    with SmtpServer(security="starttls", users={...})  STARTTLS required, AUTH LOGIN/PLAIN
    with SmtpServer(security="ssl")                    TLS from the first byte (port 465 style)

TLS uses the self-signed certificate of tests/data/tls (made for 127.0.0.1 and localhost);
a client trusts it through ``SSL_CERT_FILE=CERTIFICATE``, as a user would trust a private
certificate authority. ``refuse`` lists recipient addresses the server answers 550 for;
``users`` maps logins to passwords (any other login is refused with 535).
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
TLS_DIR = Path(__file__).parent / "data" / "tls"
CERTIFICATE = TLS_DIR / "self-signed.crt"
KEY = TLS_DIR / "self-signed.key"
RECIPIENT_UNKNOWN = "550 5.1.1 Recipient address rejected: User unknown in local table"

Security = Literal["none", "starttls", "ssl"]


@dataclass(frozen=True)
class Received:
    """One message as the server took it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None  # who logged in, if anyone
    tls: bool  # whether the conversation was encrypted

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    refuse: frozenset[str]
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return RECIPIENT_UNKNOWN
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        login = session.auth_data.login.decode() if session.auth_data else None
        with self.lock:
            self.received.append(
                Received(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=content,
                    login=login,
                    tls=session.ssl is not None or _encrypted(server),
                )
            )
        return "250 2.0.0 Ok: queued"


def _encrypted(server: SMTP) -> bool:
    """TLS from the first byte: the transport itself is encrypted (STARTTLS sets session.ssl)."""
    transport = server.transport
    return transport is not None and transport.get_extra_info("sslcontext") is not None


class _AnyPortController(Controller):
    """aiosmtpd's Controller on a port the OS picks (it wants to know the port up front)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()


def server_tls_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERTIFICATE, KEY)
    return context


class SmtpServer:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts in ``received``."""

    def __init__(
        self,
        *,
        security: Security = "none",
        users: dict[str, str] | None = None,
        refuse: frozenset[str] = frozenset(),
        port: int = 0,  # 0: any free port
    ) -> None:
        self.security = security
        self.users = users
        self._handler = _Handler(refuse=refuse)
        options: dict[str, Any] = {"hostname": HOST, "port": port, "server_hostname": "pln.test"}
        if users is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
            # aiosmtpd counts only STARTTLS as TLS when it decides to offer AUTH: over TLS
            # from the first byte (ssl) it would not offer it. Plain (none) allows it too,
            # as a server on the same machine may.
            options["auth_require_tls"] = security == "starttls"
        if security == "starttls":
            options.update(tls_context=server_tls_context(), require_starttls=True)
        elif security == "ssl":
            options["ssl_context"] = server_tls_context()
        self._controller = _AnyPortController(self._handler, **options)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword) or self.users is None:
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        accepted = self.users.get(login) == password
        return AuthResult(success=accepted, handled=False, auth_data=data if accepted else None)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def received(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
