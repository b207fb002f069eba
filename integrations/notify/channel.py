"""What a channel sends (`Notification`) and what a channel is (`Channel`): anything with a `name` and a
`send(notification)` that returns once the service accepted the message, or raises `NotifyError`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class NotifyError(Exception):
    """A channel could not deliver a notification. The message names the channel and the service's answer,
    never a password, token or secret URL."""

    def __init__(self, message: str, *, channel: str, retryable: bool = False) -> None:
        super().__init__(f"{channel}: {message}")
        self.channel = channel
        self.retryable = retryable


@dataclass(frozen=True)
class Notification:
    """One message to people: a subject line, plain text, and facts shown as a list.

    `kind` is `opened`, `recovered`, `event` or `digest`; `severity` is `critical`, `warning` or `info`.
    `key` identifies the incident it is about (empty for a digest).
    """

    subject: str
    text: str
    kind: str = "opened"
    severity: str = "warning"
    key: str = ""
    facts: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def plain(self) -> str:
        """The text followed by one `name: value` line per fact."""
        lines = [self.text]
        if self.facts:
            lines.append("")
            lines.extend(f"{name}: {value}" for name, value in self.facts)
        return "\n".join(lines)


@runtime_checkable
class Channel(Protocol):
    """A way to reach people. `name` is short and safe to log (`smtp`, `webhook`, `gmail`)."""

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver `notification` or raise `NotifyError`."""
        ...
