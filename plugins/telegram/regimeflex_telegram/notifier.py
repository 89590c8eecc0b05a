"""Turning an event into Telegram messages: HTML formatting, escaping and splitting.

Owns how an event reads in a chat: a level icon and the title in bold, then
the body, all escaped for Telegram's HTML parse mode (only ``<``, ``>`` and
``&`` are special), and split into messages of at most 4096 characters as
Telegram counts them (UTF-16 code units). Splits fall on line breaks where
possible, then on spaces, and never inside an escape sequence or a tag,
because each part is escaped and tagged on its own.
"""

from __future__ import annotations

import html

from regimeflex.api import Event, Level

#: Telegram's limit for one message's text.
MAX_MESSAGE = 4096
#: Telegram's limit for a document caption.
MAX_CAPTION = 1024
ICONS = {Level.INFO: "ℹ️", Level.SUCCESS: "✅", Level.RISK: "⚠️", Level.ERROR: "🛑"}
_PART_RESERVE = len("<i>(999/999)</i>\n")


def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape text for Telegram's HTML parse mode."""
    return html.escape(text, quote=False)


def _fit(text: str, budget: int) -> int:
    """How many leading characters of ``text`` fit in ``budget`` once escaped (at least 1)."""
    used, count = 0, 0
    for char in text:
        size = tg_len(escape(char))
        if used + size > budget:
            break
        used += size
        count += 1
    return max(count, 1)


def split_plain(text: str, budget: int) -> list[str]:
    """Cut ``text`` into pieces whose escaped form fits ``budget``, preferring line breaks, then spaces."""
    pieces: list[str] = []
    rest = text
    while rest:
        if tg_len(escape(rest)) <= budget:
            pieces.append(rest)
            break
        cut = _fit(rest, budget)
        window = rest[:cut]
        for sep in ("\n", " "):
            at = window.rfind(sep)
            if at > 0:
                cut = at + 1
                break
        pieces.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:]
    return [p for p in pieces if p]


def format_messages(event: Event, limit: int = MAX_MESSAGE) -> list[str]:
    """The HTML messages for ``event``, each within ``limit``; parts after the first are numbered."""
    level = Level.parse(event.level)
    head = f"{ICONS[level]} <b>{escape(event.title[:256])}</b>"
    body = event.body.strip("\n")
    if not body:
        return [head]
    first_budget = limit - tg_len(head) - 1 - _PART_RESERVE
    pieces = split_plain(body, max(first_budget, 1))
    if len(pieces) > 1:
        # re-split everything after the first part with the full budget of a continuation message
        tail = body[len(pieces[0]) :].lstrip("\n")
        pieces = [pieces[0], *split_plain(tail, limit - _PART_RESERVE)]
    total = len(pieces)
    messages = []
    for number, piece in enumerate(pieces, start=1):
        mark = f"<i>({number}/{total})</i>\n" if total > 1 else ""
        prefix = f"{head}\n" if number == 1 else ""
        messages.append(f"{prefix}{mark}{escape(piece)}")
    return messages


def caption(event: Event) -> str:
    """A short caption for an attached report."""
    level = Level.parse(event.level)
    text = f"{ICONS[level]} <b>{escape(event.title[:200])}</b>"
    return text if tg_len(text) <= MAX_CAPTION else escape(event.title[:200])
