"""Notification layer: delivering events to people without slowing the cycle.

Owns the built-in ``console``, ``webhook`` and ``email`` notifier plugins and
the dispatcher in front of every channel: minimum level, token-bucket rate
limit, de-duplication window, digest of suppressed messages, and a thread
pool with a timeout so a slow channel never delays orders.
"""
