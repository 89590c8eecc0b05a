"""Telegram notifier plugin for RegimeFlex (distribution ``regimeflex-telegram``).

Owns delivery of RegimeFlex events to a Telegram chat through the Bot API:
settings (``config``), the HTTP client with rate-limit handling and token
redaction (``client``), message formatting and splitting (``notifier``) and
the ``@hookimpl`` functions the plugin host calls (``hooks``).
"""
