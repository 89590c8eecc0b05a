"""Notification layer: delivering events to people without slowing the cycle.

Owns the message formatting notifier plugins share and the dispatcher in
front of every channel (the ``console``, ``webhook`` and ``email`` plugins
live in :mod:`regimeflex.builtins`): minimum level, token-bucket rate
limit, de-duplication window, digest of suppressed messages, and daemon
worker threads with a timeout so a slow channel never delays orders. The
runner's whole interface is :class:`Dispatcher` (``from_settings``, ``send``,
``close`` → :class:`DeliveryReport`).
"""

from regimeflex.notify.dispatch import (
    Channel,
    ChannelPolicy,
    ChannelStats,
    DeliveryFailure,
    DeliveryReport,
    Dispatcher,
)
from regimeflex.notify.message import DeliveryError, event_payload, event_text

__all__ = [
    "Channel",
    "ChannelPolicy",
    "ChannelStats",
    "DeliveryError",
    "DeliveryFailure",
    "DeliveryReport",
    "Dispatcher",
    "event_payload",
    "event_text",
]
