"""Outgoing channels — 发送渠道: SMS, WeChat and the log, behind one interface.

A channel says "sent" only with evidence: the gateway returned a message id, or a log handler
actually took the record. SMS and WeChat are off until a deployment names its gateway (a
dotted path to a callable, e.g. a thin wrapper around the operator's SMS SDK); until then they
answer "skipped: not configured" — never a pretend success.

Gateway callables:
- SMS: ``send(phone: str, text: str) -> str`` returns the provider's message id, raises on failure.
- WeChat: ``send(openid: str, subject: str, body: str) -> str`` likewise.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from .models import DeliveryStatus

LOG_CHANNEL_LOGGER = "wangge.notifications"
DETAIL_MAX = 300


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # a DeliveryStatus value
    detail: str = ""

    @classmethod
    def sent(cls, detail: str) -> DeliveryResult:
        return cls(DeliveryStatus.SENT, detail[:DETAIL_MAX])

    @classmethod
    def failed(cls, detail: str) -> DeliveryResult:
        return cls(DeliveryStatus.FAILED, detail[:DETAIL_MAX])

    @classmethod
    def skipped(cls, detail: str) -> DeliveryResult:
        return cls(DeliveryStatus.SKIPPED, detail[:DETAIL_MAX])


class Channel(ABC):
    """One way of reaching a person outside the platform."""

    name: str = ""

    @abstractmethod
    def send(self, user, subject: str, body: str) -> DeliveryResult:
        """Try to deliver; never raise for a delivery problem, report it in the result."""


class GatewayChannel(Channel):
    """A channel that hands the message to a deployment-supplied gateway callable."""

    setting: str = ""
    address_attr: str = ""  # the account attribute holding the recipient's address
    address_label: str = ""

    def gateway(self) -> Callable[..., str] | None:
        path = getattr(settings, self.setting, "") or ""
        return import_string(path) if path else None

    def address_of(self, user) -> str:
        return str(getattr(user, self.address_attr, "") or "").strip()

    @abstractmethod
    def call(self, gateway: Callable[..., str], address: str, subject: str, body: str) -> str:
        """Invoke the gateway; returns its message id."""

    def send(self, user, subject: str, body: str) -> DeliveryResult:
        try:
            gateway = self.gateway()
        except ImportError as exc:
            return DeliveryResult.failed(f"gateway {self.setting} cannot be loaded: {exc}")
        if gateway is None:
            return DeliveryResult.skipped("not configured")
        address = self.address_of(user)
        if not address:
            return DeliveryResult.skipped(f"no {self.address_label} on the account")
        try:
            message_id = self.call(gateway, address, subject, body)
        except Exception as exc:  # any gateway error is a failed delivery, not a crash
            return DeliveryResult.failed(f"{type(exc).__name__}: {exc}")
        if not message_id:
            # A gateway that gives no receipt has not shown that it sent anything.
            return DeliveryResult.failed("gateway returned no message id")
        return DeliveryResult.sent(f"message id {message_id}")


class SmsChannel(GatewayChannel):
    """Text message — 短信. Needs NOTIFY_SMS_GATEWAY and a phone number on the account."""

    name = "sms"
    setting = "NOTIFY_SMS_GATEWAY"
    address_attr = "phone"
    address_label = "phone number"

    def call(self, gateway, address, subject, body):
        return gateway(address, f"{subject}\n{body}".strip())


class WeChatChannel(GatewayChannel):
    """WeChat template message — 微信消息. Needs NOTIFY_WECHAT_GATEWAY and an openid."""

    name = "wechat"
    setting = "NOTIFY_WECHAT_GATEWAY"
    address_attr = "wechat_openid"
    address_label = "WeChat openid"

    def call(self, gateway, address, subject, body):
        return gateway(address, subject, body)


def _handlers_taking(logger: logging.Logger, record: logging.LogRecord) -> int:
    """How many handlers will emit ``record``, following ``Logger.callHandlers``' rules."""
    taking = 0
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if record.levelno >= handler.level and handler.filter(record):
                taking += 1
        current = current.parent if current.propagate else None
    return taking


class LogChannel(Channel):
    """Writes the message to the Python log (logger ``wangge.notifications``).

    For development and for deployments that ship logs to another system. "sent" means a
    handler took the record; with the logger filtered out (the default root level is WARNING)
    the result says so instead.
    """

    name = "log"

    def send(self, user, subject: str, body: str) -> DeliveryResult:
        logger = logging.getLogger(LOG_CHANNEL_LOGGER)
        level = logging.getLevelName(str(getattr(settings, "NOTIFY_LOG_LEVEL", "INFO")).upper())
        if not isinstance(level, int):
            return DeliveryResult.failed("NOTIFY_LOG_LEVEL is not a log level name")
        if logger.disabled or not logger.isEnabledFor(level):
            return DeliveryResult.skipped(
                f"logger {LOG_CHANNEL_LOGGER} does not log at {logging.getLevelName(level)}")
        record = logger.makeRecord(
            logger.name, level, __file__, 0, "notification to %s: %s — %s",
            (user.get_username(), subject, body), None)
        if not logger.filter(record):
            return DeliveryResult.skipped(f"logger {LOG_CHANNEL_LOGGER} filtered the message")
        taking = _handlers_taking(logger, record)
        if taking == 0:
            # Python's last-resort handler would drop a record below WARNING anyway.
            return DeliveryResult.skipped(f"no log handler takes {LOG_CHANNEL_LOGGER} records")
        logger.handle(record)
        return DeliveryResult.sent(f"written to {taking} log handler(s)")


CHANNELS: dict[str, type[Channel]] = {
    SmsChannel.name: SmsChannel,
    WeChatChannel.name: WeChatChannel,
    LogChannel.name: LogChannel,
}


def get_channel(name: str) -> Channel:
    try:
        return CHANNELS[name]()
    except KeyError:
        raise ValueError(f"unknown notification channel {name!r}; "
                         f"known: {', '.join(sorted(CHANNELS))}") from None


def default_channels() -> list[str]:
    """The channels ``notify`` uses when the caller names none (setting NOTIFY_CHANNELS)."""
    return list(getattr(settings, "NOTIFY_CHANNELS", ("log",)))
