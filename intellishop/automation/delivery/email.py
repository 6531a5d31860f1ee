"""Email over SMTP, rendered from Jinja2 templates with autoescaping on.

Messages are rendered when an action fires (recommendations as of then, tracking links
registered with the message) and stored in the outbox; sending only hands the stored message to
the SMTP server, so a retry sends the same bytes. The ``Message-ID`` is derived from the
idempotency key, which lets a receiving system drop a duplicate after a crash between the SMTP
server's 250 and the outbox update.
"""

from __future__ import annotations

import hashlib
import smtplib
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from . import Outcome

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(template: str, context: dict[str, Any]) -> str:
    """The HTML body; every value from the context is escaped."""
    return _env.get_template(f"{template}.html").render(**context)


def render_text(context: dict[str, Any]) -> str:
    """A plain-text alternative (clients that show no HTML, and spam filters, like one)."""
    lines = [context.get("heading") or "", "", context.get("body") or ""]
    for product in context.get("products", []):
        lines.append(f"- {product['name']} ({product['price_text']}): {product['url'] or ''}")
    for name, url in context.get("links", {}).items():
        lines.append(f"{name}: {url}")
    return "\n".join(lines).strip() + "\n"


def message_id(idempotency_key: str, domain: str = "intellishop.local") -> str:
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@{domain}>"


def send_email(
    payload: dict[str, Any],
    idempotency_key: str,
    *,
    host: str,
    port: int,
    sender: str,
    user: str | None = None,
    password: str | None = None,
    starttls: bool = False,
    timeout: float = 10.0,
) -> Outcome:
    """Send one stored message (``to``, ``subject``, ``html``, ``text``); one attempt."""
    # Long header values (the idempotency key) stay on one line: RFC 5322 allows 998.
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    message["From"] = sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(idempotency_key)
    message["X-IntelliShop-Idempotency-Key"] = idempotency_key
    message.set_content(payload["text"])
    message.add_alternative(payload["html"], subtype="html")
    return send_message(
        message,
        host=host,
        port=port,
        user=user,
        password=password,
        starttls=starttls,
        timeout=timeout,
    )


def send_message(
    message: EmailMessage,
    *,
    host: str,
    port: int,
    user: str | None = None,
    password: str | None = None,
    starttls: bool = False,
    timeout: float = 10.0,
) -> Outcome:
    """Hand one built message to the SMTP server; one attempt, failures as an :class:`Outcome`.

    The one SMTP client of the project: automation email and emailed merchant reports
    (:mod:`intellishop.reports.email`) both send through it.
    """
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls()
            if user:
                smtp.login(user, password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        return Outcome(False, f"recipient refused: {error.recipients}", permanent=True)
    except smtplib.SMTPResponseException as error:
        permanent = 500 <= error.smtp_code < 600
        return Outcome(False, f"SMTP {error.smtp_code}: {error.smtp_error!r}", permanent=permanent)
    except (OSError, smtplib.SMTPException) as error:
        return Outcome(False, f"{type(error).__name__}: {error}")
    return Outcome(True)
