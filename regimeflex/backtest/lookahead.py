"""The lookahead guard every backtest runs before simulating.

Owns :func:`guard`: each selected strategy, then the sizer, is re-run on the
history truncated at a few cut points — early ones (10 % and 25 % of the
panel) and seeded random ones, the earliest inside the first 200 sessions
(:mod:`regimeflex.signals.lookahead`) — and its output is compared with the full-history output up to each cut.
A value that changes when later bars are removed used those bars: the
backtest stops with :class:`LookaheadError` (exit 1) carrying the
conformance kit's message (check id, symbol, first date), unless the user
passed ``--allow-lookahead``, in which case the report lists the leaks and
the summary and tear sheet carry a banner.

The budget (issue #14) is that the guard costs at most the full strategy and sizer calls
themselves. The cuts' lengths add up to at most :data:`GUARD_LENGTH` (0.6) of the panel, each
cut's history is sliced once and shared by the strategies and the sizer, the sizer reuses the
universe panel :func:`~regimeflex.pipeline.compute_targets` built, and every re-run is compared
with the full output on raw arrays. A re-run's shape is checked by the host but not its values
again: they are compared with the full output, which the host checked, so a value that differs is
reported as the leak it is. ``benchmarks/bench_lookahead.py`` measures the ratio.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from regimeflex.errors import RegimeFlexError
from regimeflex.signals.lookahead import (
    GUARD_EARLY_ROWS,
    GUARD_FRACTIONS,
    GUARD_LENGTH,
    GUARD_RANDOM,
    GUARD_RANDOM_HIGH,
    cut_points,
    find_leak,
)

if TYPE_CHECKING:
    from regimeflex.pipeline import TargetPanel
    from regimeflex.plugins import PluginHost, Selection
    from regimeflex.types import Bars

STRATEGY_CHECK = "strategy.no_lookahead/v2"
SIZER_CHECK = "sizer.no_lookahead/v2"


class LookaheadError(RegimeFlexError):
    """A strategy or sizer's output on a date changed when later bars were removed (exit 1)."""


@dataclass(frozen=True)
class GuardReport:
    """What the guard checked and found."""

    status: str  # "passed" | "allowed" (leaks found, backtested anyway)
    checked: tuple[str, ...]
    cuts: tuple[str, ...]
    leaks: tuple[str, ...] = ()
    seconds: float = 0.0
    calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checked": list(self.checked),
            "cuts": list(self.cuts),
            "leaks": list(self.leaks),
            "calls": self.calls,
        }


def guard_cuts(n: int) -> list[int]:
    """The guard's cut positions for a panel of ``n`` sessions (fixed seed: same panel, same cuts): 10 %,
    25 % and three seeded random ones, their lengths adding up to at most :data:`GUARD_LENGTH` of the
    panel, the earliest within the first :data:`GUARD_EARLY_ROWS` sessions."""
    return cut_points(
        n,
        GUARD_FRACTIONS,
        random=GUARD_RANDOM,
        low=0.02,
        high=GUARD_RANDOM_HIGH,
        length=GUARD_LENGTH,
        early=GUARD_EARLY_ROWS,
    )


def guard(
    bars: Bars, panel: TargetPanel, selection: Selection, host: PluginHost, *, allow: bool = False
) -> GuardReport:
    """Re-run the selected strategies and sizer on truncated history; raise on the first leak
    (or, with ``allow``, report every plugin that leaks and carry on)."""
    from regimeflex.pipeline import universe_bars

    t0 = time.perf_counter()
    cuts = guard_cuts(len(bars.index))
    columns = panel.raw_weights.columns
    tradable = list(columns)
    ubars = panel.sizer_bars if panel.sizer_bars is not None else universe_bars(bars, tradable)
    heads = _Heads(bars, ubars)
    leaks: list[str] = []
    checked: list[str] = []
    calls = 0

    def report(check: str, role: str, name: str, plugin: str, message: str) -> None:
        line = f"{check} failed for {role} '{name}' (plugin '{plugin}'): {message}"
        if not allow:
            raise LookaheadError(
                f"lookahead guard: {line}. Fix the plugin (regimeflex plugins check {plugin}), "
                f"or pass --allow-lookahead to backtest it anyway under a warning"
            )
        leaks.append(line)

    for name, sel in selection.strategies.items():
        checked.append(f"strategy '{name}'")

        def signal(pos: int, sel: Any = sel) -> Any:
            out = host.generate_signal(sel.name, bars=heads.bars(pos), params=sel.settings, check_values=False)
            return out if out.columns.equals(columns) else out[tradable]

        calls += len(cuts)
        leak = find_leak(signal, panel.signals[name], cuts)
        if leak is not None:
            report(STRATEGY_CHECK, "strategy", name, sel.name, leak.message("signal"))
    sizer = selection.sizer
    checked.append(f"sizer '{sizer.name}'")

    def weight(pos: int) -> Any:
        return host.size_position(
            sizer.name,
            signals=panel.combined.iloc[: pos + 1],
            bars=heads.ubars(pos),
            params=sizer.settings,
            check_values=False,
        )

    calls += len(cuts)
    leak = find_leak(weight, panel.raw_weights, cuts)
    if leak is not None:
        report(SIZER_CHECK, "sizer", sizer.name, sizer.name, leak.message("weight"))
    day = [bars.index[p].strftime("%Y-%m-%d") for p in cuts]
    return GuardReport(
        status="allowed" if leaks else "passed",
        checked=tuple(checked),
        cuts=tuple(day),
        leaks=tuple(leaks),
        seconds=time.perf_counter() - t0,
        calls=calls,
    )


class _Heads:
    """The history up to each cut, sliced once and shared by every strategy (and by the sizer when
    the universe panel is the whole panel)."""

    def __init__(self, bars: Bars, ubars: Bars) -> None:
        self._bars, self._ubars = bars, ubars
        self._cache: dict[tuple[bool, int], Bars] = {}

    def bars(self, pos: int) -> Bars:
        return self._head(False, pos)

    def ubars(self, pos: int) -> Bars:
        return self._head(self._ubars is not self._bars, pos)

    def _head(self, universe: bool, pos: int) -> Bars:
        key = (universe, pos)
        if key not in self._cache:
            self._cache[key] = (self._ubars if universe else self._bars).iloc[: pos + 1]
        return self._cache[key]
