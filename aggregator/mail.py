"""The emailed digest: the only module that uses smtplib and css-inline.

    MailDigest ─► templates/email/digest.txt ─► text part, lines wrapped at 72
               ─► templates/email/digest.html ─► CSS inlined into style= (css-inline) ─► HTML part
               ─► EmailMessage: multipart/alternative, From, To, Subject, Date, Message-ID, List-Id
    EmailMessage ─► SMTP (starttls | ssl | none, login, timeout) ─► Delivery, or DeliveryError
                    in the server's own words

Templates come through the site's ``Renderer``, so a site directory's ``templates/email/``
overrides the built-in ones exactly as it does for the site's pages.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import css_inline

from aggregator.errors import ConfigError, DeliveryError
from aggregator.models import Config, EmailConfig, MailDigest, SmtpConfig, SmtpSecurity
from aggregator.render import Renderer

__all__ = [
    "SMTP_TIMEOUT",
    "TEXT_WIDTH",
    "Delivery",
    "compose",
    "days_label",
    "eml_bytes",
    "envelope_address",
    "inline_css",
    "send",
    "smtp_password",
    "subject_for",
    "wrap_text",
]

TEXT_WIDTH = 72  # the plain-text part reads well in any terminal or mail program at this
SMTP_TIMEOUT = 30.0  # seconds for each step of the SMTP conversation
TEXT_TEMPLATE = "email/digest.txt"
HTML_TEMPLATE = "email/digest.html"
SUBJECT_FIELDS = ("title", "date", "count")
SIGNATURE_SEPARATOR = "-- "  # RFC 3676: the trailing space is what makes it one
# A preview (--dry-run, --out) needs an address on each side, not a mail server: these stand
# in while sources.yaml has no email: section (.invalid never resolves: RFC 2606).
PREVIEW_SETTINGS = EmailConfig(
    to=("you@example.invalid",),
    sender="pln@example.invalid",
    smtp=SmtpConfig(host="smtp.example.invalid"),
)

# Never fetch a stylesheet from anywhere, whatever a template links to: building an email
# must not reach the network, and a remote stylesheet is no part of an email anyway. The
# @media rules (phones, dark mode) cannot be inlined, so they stay in a <style> element.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False, minify_css=True)
# A list item's marker, so its wrapped lines hang under its text: "* ", "- ", "12. ".
_MARKER = re.compile(r"(\s*)((?:[-*•]|\d{1,3}\.)\s+)?")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


# ── the message ──────────────────────────────────────────────────────────────────────────


class _SubjectDate(date):
    """``{date}`` of a subject: ``23 November 2026``, or any strftime: ``{date:%Y-%m-%d}``."""

    def __format__(self, spec: str) -> str:
        return self.strftime(spec) if spec else f"{self.day} {self:%B %Y}"

    def __str__(self) -> str:
        return format(self, "")


def subject_for(email: EmailConfig, title: str, digest: MailDigest, file: Path | None) -> str:
    """The subject line: ``email.subject`` with ``{title}``, ``{date}`` and ``{count}`` filled."""
    day = digest.day
    fields: dict[str, Any] = {
        "title": title,
        "date": _SubjectDate(day.year, day.month, day.day),
        "count": digest.post_count,
    }
    try:
        subject = email.subject.format_map(fields)
    except (KeyError, IndexError, ValueError) as exc:
        known = ", ".join(f"{{{name}}}" for name in SUBJECT_FIELDS)
        raise ConfigError(
            f"cannot fill in {email.subject!r} ({exc}): the placeholders are {known}",
            file=file,
            key="email.subject",
        ) from exc
    return " ".join(subject.split())  # a header is one line


def compose(
    config: Config,
    digest: MailDigest,
    renderer: Renderer,
    *,
    now: datetime,
    to: Sequence[str],
) -> EmailMessage:
    """The digest as a ``multipart/alternative`` message: plain text first, then HTML."""
    if config.email is None:
        raise ConfigError("there is no email: section", file=config.path, key="email")
    email = config.email
    site = config.site
    subject = subject_for(email, site.title, digest, config.path)
    context = {
        "site": site,
        "mail": digest,
        "subject": subject,
        "now": now,
        "preheader": _preheader(digest),
        "days_label": days_label([d.day for d in digest.digests] or [digest.day]),
    }
    text = wrap_text(renderer.render(TEXT_TEMPLATE, context))
    html = inline_css(renderer.render(HTML_TEMPLATE, context))

    message = EmailMessage(policy=policy.default)
    message["From"] = email.sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(site.tz))
    domain = _domain(email.sender)
    message["Message-ID"] = make_msgid(idstring="pln", domain=domain)
    message["List-Id"] = formataddr((site.title, _list_label(site.title, site.base_url, domain)))
    # Tells vacation responders and the like not to answer a machine (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def days_label(days: Sequence[date]) -> str:
    """The span of days an email covers: ``20–23 November 2026``,
    ``30 November – 2 December 2026``, ``31 December 2026 – 1 January 2027``."""
    first, last = min(days), max(days)
    if first == last:
        return f"{last.day} {last:%B %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%B %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%B} – {last.day} {last:%B %Y}"
    return f"{first.day} {first:%B %Y} – {last.day} {last:%B %Y}"


def _preheader(digest: MailDigest) -> str:
    """The line a mail program shows beside the subject in the inbox list."""
    people = digest.people
    count = digest.post_count
    names = ", ".join(people[:3]) + (" and others" if len(people) > 3 else "")
    shared = next((d.most_shared[0].title for d in digest.digests if d.most_shared), None)
    words = f"{count} post{'s' if count != 1 else ''} from {names}" if people else "No posts"
    return f"{words}. Most shared: {shared}" if shared else f"{words}."


def _domain(address: str) -> str:
    return envelope_address(address).rpartition("@")[2] or "localhost"


def _list_label(title: str, base_url: str | None, domain: str) -> str:
    """``open-learning-pln.pln.example``: the List-Id label, from the title and a host."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-") or "pln"
    host = (urlsplit(base_url).hostname if base_url else None) or domain
    return f"{slug}.{host}"


def envelope_address(address: str) -> str:
    """``me@example.org`` of ``Zoë <me@example.org>``: what SMTP's MAIL FROM and RCPT TO take."""
    return parseaddr(address)[1]


def eml_bytes(message: EmailMessage) -> bytes:
    """The message as an ``.eml`` file, as a mail program opens it."""
    return message.as_bytes(policy=policy.default)


# ── text and HTML ────────────────────────────────────────────────────────────────────────


def wrap_text(text: str, width: int = TEXT_WIDTH) -> str:
    """Every line longer than ``width`` wrapped, keeping its indentation and hanging list
    items under their text; a URL is never broken. Runs of blank lines become one."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw if raw == SIGNATURE_SEPARATOR else raw.rstrip()
        if not line and lines and not lines[-1]:
            continue
        lines.extend(_wrap_line(line, width) if len(line) > width else [line])
    return "\n".join(lines).strip("\n") + "\n"


def _wrap_line(line: str, width: int) -> list[str]:
    match = _MARKER.match(line)
    assert match is not None  # the pattern matches the empty string
    lead = match.group(0)
    wrapped = textwrap.wrap(
        line[len(lead) :],
        width=width,
        initial_indent=lead,
        subsequent_indent=" " * len(lead),
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapped or [line]


def inline_css(html: str) -> str:
    """The stylesheets of ``html`` moved into style= attributes, as mail programs want."""
    try:
        return _INLINER.inline(html)
    except (css_inline.InlineError, ValueError) as exc:
        raise DeliveryError(f"the email's CSS could not be inlined: {exc}") from exc


# ── sending ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Delivery:
    """What the mail server did with a message it took."""

    accepted: tuple[str, ...]  # envelope addresses
    refused: tuple[tuple[str, str], ...] = ()  # (address, the server's words)


def smtp_password(
    smtp: SmtpConfig, environ: Mapping[str, str], file: Path | None = None
) -> str | None:
    """The SMTP password, from the environment variable ``password_env`` names; None when
    there is no login. A login without a password is a configuration error naming the
    variable, raised before anything is sent."""
    if not smtp.username:
        return None
    name = smtp.password_env
    if not name:
        raise ConfigError(
            f"email.smtp.username is {smtp.username!r}, but no password_env names the "
            "environment variable that holds its password",
            file=file,
            key="email.smtp.password_env",
        )
    password = environ.get(name)
    if not password:
        raise ConfigError(
            f"the environment variable {name} is not set: it should hold the SMTP password "
            f"of {smtp.username} (email.smtp.password_env names it)",
            file=file,
            key="email.smtp.password_env",
        )
    return password


def send(
    message: EmailMessage,
    smtp: SmtpConfig,
    *,
    password: str | None,
    timeout: float = SMTP_TIMEOUT,
    context: ssl.SSLContext | None = None,
) -> Delivery:
    """Hand ``message`` to the server for every address of its To header.

    TLS certificates are checked against the system's authorities (``SSL_CERT_FILE`` names
    another bundle, for a server with a private authority). Every failure, from a refused
    connection to a refused recipient, is a DeliveryError in the server's own words.
    """
    sender = envelope_address(str(message["From"]))
    recipients = [address for _, address in getaddresses([str(message["To"])]) if address]
    where = f"{smtp.host}:{smtp.port}"
    tls = context or ssl.create_default_context()
    try:
        with _connect(smtp, timeout, tls) as client:
            if smtp.username:
                client.login(smtp.username, password or "")
            refused = client.send_message(message, sender, recipients)
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):  # how smtplib reports a silent server
            raise DeliveryError(_no_answer(where, timeout)) from exc
        raise DeliveryError(f"{where} closed the connection: {exc}") from exc
    except smtplib.SMTPException as exc:
        raise DeliveryError(_smtp_failure(exc, where, smtp)) from exc
    except ssl.SSLError as exc:
        raise DeliveryError(_tls_failure(exc, where)) from exc
    except OSError as exc:
        raise DeliveryError(_connection_failure(exc, where, timeout)) from exc
    return Delivery(
        accepted=tuple(address for address in recipients if address not in refused),
        refused=tuple((address, _words(*answer)) for address, answer in refused.items()),
    )


def _connect(smtp: SmtpConfig, timeout: float, tls: ssl.SSLContext) -> smtplib.SMTP:
    if smtp.security is SmtpSecurity.SSL:
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=tls)
    client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
    if smtp.security is SmtpSecurity.STARTTLS:
        try:
            client.ehlo()
            if not client.has_extn("starttls"):
                raise DeliveryError(
                    f"{smtp.host}:{smtp.port} does not offer STARTTLS: use security: ssl "
                    "(usually port 465), or security: none only for a server on this machine"
                )
            client.starttls(context=tls)
            client.ehlo()
        except BaseException:
            client.close()
            raise
    return client


def _words(code: int, answer: bytes | str) -> str:
    """The server's answer as it said it: ``535 5.7.8 Authentication credentials invalid``."""
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return f"{code} {' '.join(text.split())}".strip()


def _smtp_failure(exc: smtplib.SMTPException, where: str, smtp: SmtpConfig) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        said = _words(exc.smtp_code, exc.smtp_error)
        return f"{where} refused the login of {smtp.username}: {said}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address}: {_words(*answer)}" for address, answer in exc.recipients.items()
        )
        return f"{where} refused every recipient: {refused}"
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"{where} refused the connection: {_words(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"{where} refused the sender {exc.sender}: {_words(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} refused the message: {_words(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # G (review finding 15): smtplib's sentence ends in a full stop
        return f"{where}: {str(exc).rstrip('.')} (check email.smtp.security and port)"
    return f"{where}: {exc}"


def _tls_failure(exc: ssl.SSLError, where: str) -> str:
    reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the TLS certificate of {where} is not trusted: {reason}. A server with a "
            "private certificate authority needs SSL_CERT_FILE set to that authority's "
            "certificate"
        )
    return f"TLS with {where} failed: {reason} (is email.smtp.security right for this port?)"


def _connection_failure(exc: OSError, where: str, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return _no_answer(where, timeout)
    if isinstance(exc, socket.gaierror):
        return f"cannot find the mail server {where}: {exc.strerror or exc}"
    return f"cannot connect to {where}: {exc.strerror or exc}"


def _no_answer(where: str, timeout: float) -> str:
    return (
        f"no answer from {where} within {timeout:g} s (a server that expects TLS from the "
        "first byte, usually on port 465, needs security: ssl)"
    )
