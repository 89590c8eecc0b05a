"""The data types every layer and every plugin speaks (DESIGN §3).

This module owns the shapes that cross a hook boundary: the ``Bars`` panel
(and the helpers that build and check it), signal/weight frames, orders,
order results, fills, positions, account snapshots, the requests and contexts
passed to hooks, and notification events. It sits at the bottom of the layer
stack next to ``hookspecs``, ``config`` and ``log`` and imports nothing else
from RegimeFlex but the kill-switch guard every broker context carries.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from regimeflex.killguard import KillGuard

if TYPE_CHECKING:
    import pandas as pd

#: The five fields every Bars panel carries, in this order.
BAR_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")

if TYPE_CHECKING:
    #: A Bars panel: index = session dates (tz-naive ``datetime64[ns]``, ascending,
    #: unique), columns = MultiIndex ``(field, symbol)``, float64 values.
    Bars: TypeAlias = pd.DataFrame


def __getattr__(name: str) -> Any:
    """``Bars`` is ``pandas.DataFrame``, imported on first use.

    pandas is imported only by the code that touches a panel, so the commands that
    never do (``ledger verify``, ``kill``, ``--help``) start without it: the
    dataclasses below (``Fill``, ``Position``, ``Order``...) are plain Python.
    """
    if name == "Bars":
        import pandas as pd

        globals()["Bars"] = pd.DataFrame  # later lookups skip __getattr__
        return pd.DataFrame
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class BarsShapeError(ValueError):
    """A frame that claims to be ``Bars`` breaks the contract of DESIGN §3."""


def make_bars(fields: Mapping[str, pd.DataFrame]) -> Bars:
    """Build a Bars panel from one dates × symbols frame per field.

    Every field in :data:`BAR_FIELDS` must be present. Frames are aligned on
    the union of their dates and symbols; gaps stay NaN (never forward-filled).
    Symbols are upper-cased and sorted; the index is normalised to tz-naive
    session dates.
    """
    import pandas as pd

    missing = [f for f in BAR_FIELDS if f not in fields]
    if missing:
        raise BarsShapeError(f"make_bars: missing field(s) {missing}; need {list(BAR_FIELDS)}")
    frames = {f: fields[f] for f in BAR_FIELDS}
    panel = pd.concat(frames, axis=1, names=["field", "symbol"])
    panel.index = _session_index(panel.index)
    panel = panel.sort_index()
    symbols = sorted({str(s).upper() for s in panel.columns.get_level_values("symbol")})
    panel.columns = pd.MultiIndex.from_tuples(
        [(f, str(s).upper()) for f, s in panel.columns], names=["field", "symbol"]
    )
    full = pd.MultiIndex.from_product([list(BAR_FIELDS), symbols], names=["field", "symbol"])
    panel = panel.reindex(columns=full).astype("float64")
    return panel


def empty_bars(symbols: tuple[str, ...] = ()) -> Bars:
    """A Bars panel with no rows (and the given symbols as columns)."""
    import pandas as pd

    cols = pd.MultiIndex.from_product([list(BAR_FIELDS), sorted(symbols)], names=["field", "symbol"])
    return pd.DataFrame(index=pd.DatetimeIndex([], name="date", dtype="datetime64[ns]"), columns=cols, dtype="float64")


def _session_index(index: pd.Index) -> pd.DatetimeIndex:
    import pandas as pd

    idx = pd.DatetimeIndex(index)
    if idx.tz is not None:
        idx = idx.tz_convert("America/New_York").tz_localize(None)
    idx = idx.normalize().astype("datetime64[ns]")
    idx.name = "date"
    return idx


def bars_symbols(bars: Bars) -> list[str]:
    """The symbols of a Bars panel, in column order."""
    import pandas as pd

    columns = bars.columns
    if isinstance(columns, pd.MultiIndex):
        level = columns.names.index("symbol")
        # order of first appearance, from the integer codes (no Python loop over the columns)
        symbols: list[str] = columns.levels[level].take(pd.unique(columns.codes[level])).tolist()
        return symbols
    return list(dict.fromkeys(columns.get_level_values("symbol")))


def check_bars(bars: object, *, where: str = "bars") -> Bars:
    """Raise :class:`BarsShapeError` naming the first contract breach, else return ``bars``."""
    import numpy as np
    import pandas as pd

    if not isinstance(bars, pd.DataFrame):
        raise BarsShapeError(f"{where}: expected a pandas DataFrame, got {type(bars).__name__}")
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise BarsShapeError(
            f"{where}: index must be a DatetimeIndex of session dates, got {type(bars.index).__name__}"
        )
    if bars.index.tz is not None:
        raise BarsShapeError(f"{where}: index must be tz-naive session dates, got tz={bars.index.tz}")
    if not bars.index.is_monotonic_increasing or not bars.index.is_unique:
        raise BarsShapeError(f"{where}: index must be ascending and unique")
    if not isinstance(bars.columns, pd.MultiIndex) or bars.columns.nlevels != 2:
        raise BarsShapeError(f"{where}: columns must be a 2-level MultiIndex (field, symbol)")
    fields = set(bars.columns.get_level_values(0))
    missing = [f for f in BAR_FIELDS if f not in fields]
    if missing:
        raise BarsShapeError(f"{where}: missing field(s) {missing}")
    bad = [str(c) for c, dt in bars.dtypes.items() if dt != np.float64]
    if bad:
        raise BarsShapeError(f"{where}: columns must be float64; not: {', '.join(bad[:5])}")
    return bars


class Level(enum.IntEnum):
    """Severity of a log line or notification event, lowest first."""

    INFO = 20
    SUCCESS = 25
    RISK = 35
    ERROR = 40

    @classmethod
    def parse(cls, value: str | int | Level) -> Level:
        if isinstance(value, Level):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[str(value).upper()]
        except KeyError:
            raise ValueError(f"unknown level {value!r}; use one of {[lv.name for lv in cls]}") from None


@dataclass(frozen=True)
class Event:
    """Something a user may want to hear about: a run summary, a tripped breaker, an error."""

    kind: str
    level: Level
    title: str
    body: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    ts: datetime | None = None
    attachments: tuple[Path, ...] = ()


@dataclass(frozen=True)
class BarsRequest:
    """What the runner asks a data provider for.

    ``start``/``end`` are inclusive session dates. ``settings`` is the
    provider's own validated settings section from data.yaml (``providers.<name>``).
    """

    symbols: tuple[str, ...]
    start: date
    end: date
    adjusted: bool = True
    settings: Any = None


Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop", "trailing_stop"]
TimeInForce = Literal["day", "opg", "cls", "gtc"]


@dataclass(frozen=True)
class CorporateAction:
    """A split or cash dividend of one symbol, effective on ``ex_date``.

    ``kind="split"``: ``ratio`` new shares per old share (2.0 = 2-for-1; 0.02 = 1-for-50).
    ``kind="dividend"``: ``cash`` per share, earned by the shares held before ``ex_date``.
    ``source``: where it came from (e.g. ``polygon``), kept in the ledger entry.
    """

    symbol: str
    ex_date: date
    kind: Literal["split", "dividend"]
    ratio: float | None = None
    cash: float | None = None
    source: str = ""


@dataclass(frozen=True)
class ProtectiveStop:
    """A protective stop attached to a buy (risk.yaml ``stops:``): placed once the entry fills.

    ``distance`` is how far below the entry's fill price the stop sits (price units);
    ``trailing`` ratchets it up to ``close − distance`` on each close; ``take_profit``,
    when set, is a distance above the fill price at which the position is sold.
    """

    distance: float
    trailing: bool = False
    take_profit: float | None = None


@dataclass(frozen=True)
class Order:
    """One order the planner wants placed. ``client_order_id`` is deterministic (≤ 48 chars).

    ``protect``: the protective stop to place once this buy fills (``None``: none).
    ``type="stop"`` sells at market once the price trades at or below ``stop_price``;
    ``type="trailing_stop"`` keeps its stop ``trail_price`` below the highest price since it was
    placed (brokers declaring the ``supports_stops`` capability accept both, ``time_in_force="gtc"``).
    ``take_profit_price`` on a ``stop`` order makes it a one-cancels-other exit: a limit sell at
    ``take_profit_price`` and the stop at ``stop_price``, the fill of either cancels the other
    (brokers declaring ``supports_take_profit``)."""

    symbol: str
    side: Side
    qty: float
    client_order_id: str
    type: OrderType = "market"
    limit_price: float | None = None
    time_in_force: TimeInForce = "day"
    reference_price: float | None = None
    strategy: str = ""
    session: date | None = None
    protect: ProtectiveStop | None = None
    stop_price: float | None = None
    trail_price: float | None = None
    take_profit_price: float | None = None


OrderStatus = Literal[
    "planned",
    "new",
    "accepted",
    "partially_filled",
    "filled",
    "canceled",
    "rejected",
    "expired",
    "unknown",
]


@dataclass(frozen=True)
class OrderResult:
    """A broker's answer for one order."""

    client_order_id: str
    status: OrderStatus
    symbol: str = ""
    side: Side | None = None
    qty: float = 0.0
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    broker_order_id: str | None = None
    message: str = ""
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class Fill:
    """One execution. ``fill_id`` is unique per broker so fills are never double-counted.

    ``reason``: why a protective exit filled — ``stop`` or ``take_profit`` ("" for other fills)."""

    fill_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    commission: float = 0.0
    ts: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class Position:
    symbol: str
    qty: float
    avg_price: float = 0.0


@dataclass(frozen=True)
class Account:
    """A snapshot of the broker account the planner sizes orders against."""

    equity: float
    cash: float
    buying_power: float
    positions: Mapping[str, Position] = field(default_factory=dict)


BrokerMode = Literal["dry_run", "paper", "live"]


@dataclass(frozen=True)
class BrokerContext:
    """Everything a broker hook needs besides the orders.

    ``mode`` is the effective mode after the safety checks (live needs both
    the YAML and ``--live``). ``settings`` is the broker's own validated
    section of broker.yaml. ``state_dir`` is where a simulated broker may keep
    its files. ``prices`` is the Bars panel of the current run (the paper
    broker fills from it). ``ledger_path`` and ``initial_equity`` are the
    run's ledger file and configured starting equity. ``kill_switch`` is the run's
    :class:`~regimeflex.killguard.KillGuard`: call ``kill_switch.check()``
    before every request (first send, each retry, each lookup) and wait
    between attempts only with ``kill_switch.wait(seconds)``; both raise
    :class:`~regimeflex.errors.KillSwitchEngaged` once the switch is engaged
    (pass the guard to :func:`regimeflex.http.make_session` and its requests
    and retry waits are guarded too). ``is_killed()`` is the same guard as a
    boolean.
    """

    mode: BrokerMode
    session: date
    settings: Any = None
    state_dir: Path | None = None
    prices: Bars | None = None
    kill_switch: KillGuard = field(default_factory=KillGuard.never)
    #: the run's audit ledger (a simulated broker rebuilds its book from it when its state file is lost)
    ledger_path: Path | None = None
    #: run.yaml ``initial_equity``: a simulated account's starting cash unless its settings say otherwise
    initial_equity: float | None = None
    #: the held symbols' splits and cash dividends the data provider reported (ex-date up to ``session``):
    #: a simulated broker applies them to its own account, as a real broker does
    corporate_actions: tuple[CorporateAction, ...] = ()

    @property
    def is_killed(self) -> KillGuard:
        """The kill switch as a callable returning True when engaged (``context.is_killed()``)."""
        return self.kill_switch


@dataclass(frozen=True)
class NotifyContext:
    """A notifier's own validated settings and where it may keep state."""

    channel: str
    settings: Any = None
    state_dir: Path | None = None


@dataclass(frozen=True)
class CommandRequest:
    """One message a chat plugin received, as the core's command handler sees it.

    ``chat_id`` and ``user_id`` are the chat the message was sent in and its
    sender, as text (Telegram's are integers, Slack's are strings); the core
    checks *both* against run.yaml's ``bot`` allow-lists. ``sent_at`` is when
    the chat service says it was sent (UTC), so a command queued while the bot
    was down can be refused as stale.
    """

    channel: str
    chat_id: str
    user_id: str
    text: str
    user_name: str = ""
    message_id: str = ""
    sent_at: datetime | None = None


@dataclass(frozen=True)
class CommandReply:
    """What to send back to the chat: plain text (the plugin formats and escapes it) and,
    optionally, a file to upload (``/report`` sends the latest daily report)."""

    text: str
    document: Path | None = None
    caption: str = ""


@dataclass(frozen=True)
class CommandSpec:
    """One command the core answers: its name (without ``/``), one line of help, and
    whether it changes anything (``writes``; e.g. ``kill``)."""

    name: str
    help: str
    writes: bool = False


@dataclass(frozen=True)
class CommandContext:
    """What :func:`regimeflex.hookspecs.serve_commands` receives: the core's command service.

    The plugin owns the transport (polling, offsets, sending); the core owns
    everything else — who may command, what each command does, the ledger
    record of every accepted command, the kill switch. ``handle`` answers one
    request (``None`` means *ignore it*: an unknown sender gets no reply);
    ``idle`` is called by the plugin between polls (the core flushes pending
    ledger records then, never blocking a running cycle); ``should_stop``
    turns True when the process is asked to exit (SIGTERM from systemd).
    ``settings`` is the channel's validated settings (``notify.channels.<name>.settings``),
    ``state_dir`` a directory the plugin may keep its own state in (e.g. a poll offset).
    """

    channel: str
    settings: Any
    state_dir: Path
    commands: tuple[CommandSpec, ...]
    handle: Callable[[CommandRequest], CommandReply | None]
    idle: Callable[[], None]
    should_stop: Callable[[], bool]
