"""Outbound channels, each one small adapter with `send(message) -> bool` (True: sent; False: kept in the outbox).

- email: SMTP, configured by TIMEBANK_SMTP_* (host, port, user, password, from, starttls);
- sms: an HTTP gateway the deployer configures (TIMEBANK_SMS_URL, a bearer token, and a
  gateway template code per kind of notice in TIMEBANK_SMS_TEMPLATES); with none configured
  messages are kept in the outbox (status held) for staff to read and pass on — never dropped.

A WeChat subscription-message adapter needs the deployer's own mini-program
(its appid and secret, a template id per kind, each person's openid): it is a
class with the same `send` posting to WeChat's `subscribeMessage.send`, added
to `channels_from_config` under "wechat", with "wechat" added to
`notices.kinds.CHANNELS` and an openid kept beside the email in NoticeSettings.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from timebank.notices.models import OutboxMessage
from timebank.notices.services import Channel


@dataclass(frozen=True)
class SmtpEmail:
    """Email through an SMTP server."""

    host: str
    port: int = 25
    sender: str = "timebank@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 20.0

    def send(self, message: OutboxMessage) -> bool:
        """Send one message by email."""
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, message.address, message.subject
        email.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(email)
        return True


@dataclass(frozen=True)
class HttpSms:
    """SMS through the deployer's gateway: one JSON POST per message, naming the gateway's template for the notice's kind."""

    url: str
    templates: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None
    timeout: float = 10.0

    def payload(self, message: OutboxMessage) -> dict[str, Any]:
        """What the gateway receives: the phone, its template for this kind, the fields, and the text as written."""
        return {
            "phone": message.address,
            "template": self.templates.get(message.kind) or self.templates.get("default"),
            "params": json.loads(message.params_json or "{}"),
            "text": message.body,
            "reference": message.key,
        }

    def send(self, message: OutboxMessage) -> bool:
        """Post one message to the gateway; any answer but 2xx raises."""
        body = json.dumps(self.payload(message), ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 (the deployer's own URL)
            answer.read()
        return True


class KeptInOutbox:
    """No gateway configured: the message stays in the outbox, marked held, for staff to read."""

    def send(self, message: OutboxMessage) -> bool:
        """Keep the message."""
        return False


def channels_from_config(config: Mapping[str, Any]) -> dict[str, Channel]:
    """The adapters the deployment configured, one per channel."""
    email: Channel = KeptInOutbox()
    if config.get("SMTP_HOST"):
        email = SmtpEmail(
            host=config["SMTP_HOST"], port=int(config.get("SMTP_PORT") or 25), sender=config.get("SMTP_FROM") or "timebank@localhost",
            user=config.get("SMTP_USER"), password=config.get("SMTP_PASSWORD"), starttls=bool(config.get("SMTP_STARTTLS")),
        )
    sms: Channel = KeptInOutbox()
    if config.get("SMS_URL"):
        sms = HttpSms(url=config["SMS_URL"], templates=json.loads(config.get("SMS_TEMPLATES") or "{}"), token=config.get("SMS_TOKEN"))
    return {"email": email, "sms": sms}
