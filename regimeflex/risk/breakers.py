"""Circuit breakers: a pure evaluation with explicit state in and out.

Owns :func:`check_circuit_breakers` (measure → reset → trip → combined
action), :func:`apply_breaker_action` (what a decision does to target
weights), :func:`reset_breaker` (the manual reset behind ``regimeflex risk
reset NAME``) and the state types. Nothing here reads a clock or a file: the
caller passes the session's numbers and the previous :class:`BreakerState`,
and stores the returned state (:mod:`regimeflex.risk.state` or the ledger), so
a tripped breaker survives a restart.

A breaker trips when its measured value reaches its threshold (``>=``; just
below does not trip) and emits one RISK event with the numbers. A breaker
whose input is missing (no VIX series, no equity, no previous close) is
``no data`` — never ``ok``: ``ok`` means measured and below the threshold
(:meth:`BreakerDecision.status`). It then stays
tripped until its reset rule clears it: ``next_session`` (on any later
session), ``manual`` (only :func:`reset_breaker`), ``recovery`` (once the
value is back below ``recover_below``, default the threshold).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from regimeflex.config.risk import BREAKERS, BreakerSpec, CircuitBreakerSettings
from regimeflex.types import Event, Level


@dataclass(frozen=True)
class BreakerInputs:
    """The numbers the breakers look at for one session (None or NaN = not available: ``no data``).

    ``previous_close_equity`` is the equity at the previous session's close
    (the daily-loss base); ``stale_sessions`` is how many sessions the newest
    bar is behind the session being traded; ``orders_today`` counts orders
    sent plus planned this session; ``weights`` are position weights per symbol
    (for concentration: the largest |weight|; an empty mapping is a flat book, 0).
    """

    session: dt.date
    equity: float | None = None
    previous_close_equity: float | None = None
    vix: float | None = None
    stale_sessions: int | None = None
    rejected_orders: int | None = None
    orders_today: int | None = None
    weights: Mapping[str, float] | None = None


@dataclass(frozen=True)
class TrippedBreaker:
    """A breaker that is tripped: when, on what numbers, and how it acts and resets."""

    name: str
    session: dt.date
    value: float
    threshold: float
    action: str
    reset: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "session": self.session.isoformat(),
            "value": self.value,
            "threshold": self.threshold,
            "action": self.action,
            "reset": self.reset,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrippedBreaker:
        return cls(
            name=str(data["name"]),
            session=dt.date.fromisoformat(str(data["session"])),
            value=float(data["value"]),
            threshold=float(data["threshold"]),
            action=str(data["action"]),
            reset=str(data["reset"]),
        )


@dataclass(frozen=True)
class BreakerState:
    """What the breakers remember between sessions (and across restarts)."""

    peak_equity: float | None = None
    last_equity: float | None = None
    last_session: dt.date | None = None
    tripped: Mapping[str, TrippedBreaker] = field(default_factory=dict)
    #: breakers that had no input at the last evaluation (``no data``)
    no_data: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "peak_equity": self.peak_equity,
            "last_equity": self.last_equity,
            "last_session": self.last_session.isoformat() if self.last_session else None,
            "tripped": {name: t.to_dict() for name, t in sorted(self.tripped.items())},
            "no_data": list(self.no_data),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BreakerState:
        last = data.get("last_session")
        return cls(
            peak_equity=None if data.get("peak_equity") is None else float(data["peak_equity"]),
            last_equity=None if data.get("last_equity") is None else float(data["last_equity"]),
            last_session=dt.date.fromisoformat(last) if last else None,
            tripped={str(k): TrippedBreaker.from_dict(v) for k, v in dict(data.get("tripped") or {}).items()},
            no_data=tuple(str(n) for n in data.get("no_data") or ()),
        )


@dataclass(frozen=True)
class BreakerDecision:
    """The result of one evaluation: the new state, the events, and the combined action.

    ``scale`` is the product of every tripped ``reduce:<x>`` (0 when a
    ``flatten`` is tripped); ``block_entries`` is True when any tripped breaker
    blocks entries (``flatten`` does too).
    """

    state: BreakerState
    events: tuple[Event, ...]
    tripped: tuple[str, ...]
    block_entries: bool
    flatten: bool
    scale: float
    #: what each enabled breaker measured this session (None: its input was missing)
    values: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.tripped

    @property
    def no_data(self) -> tuple[str, ...]:
        """Enabled breakers that could not measure this session and are not tripped."""
        return tuple(n for n, v in self.values.items() if v is None and n not in self.tripped)

    def status(self, name: str) -> str:
        """``tripped``, ``no data`` (input missing: the breaker cannot see) or ``ok`` (measured, below)."""
        if name in self.tripped:
            return "tripped"
        return "no data" if self.values.get(name) is None else "ok"


def measure(name: str, inputs: BreakerInputs, peak_equity: float | None) -> float | None:
    """The value breaker ``name`` compares with its threshold, or None when its input is missing
    (a NaN input — e.g. a VIX series without today's bar — is missing too)."""
    value = _measure(name, inputs, peak_equity)
    return None if value is None or not np.isfinite(value) else float(value)


def _measure(name: str, inputs: BreakerInputs, peak_equity: float | None) -> float | None:
    if name == "max_drawdown":
        if inputs.equity is None or not peak_equity:
            return None
        return max(0.0, 1.0 - inputs.equity / peak_equity)
    if name == "daily_loss":
        if inputs.equity is None or not inputs.previous_close_equity:
            return None
        return max(0.0, 1.0 - inputs.equity / inputs.previous_close_equity)
    if name == "vix":
        return inputs.vix
    if name == "stale_data":
        return None if inputs.stale_sessions is None else float(inputs.stale_sessions)
    if name == "rejected_orders":
        return None if inputs.rejected_orders is None else float(inputs.rejected_orders)
    if name == "max_orders_per_day":
        return None if inputs.orders_today is None else float(inputs.orders_today)
    if name == "concentration":
        if inputs.weights is None:
            return None
        return float(max((abs(float(w)) for w in inputs.weights.values()), default=0.0))
    raise KeyError(f"unknown circuit breaker {name!r}; known: {', '.join(BREAKERS)}")


#: Equity ratios carry float noise (1 − 80 000/100 000 = 0.19999999999999996); a value this
#: close to the threshold counts as reaching it.
TOLERANCE = 1e-12


def reaches(value: float, threshold: float) -> bool:
    """True when ``value`` is at or above ``threshold`` (within :data:`TOLERANCE`)."""
    return value >= threshold - TOLERANCE


def _trip_event(t: TrippedBreaker) -> Event:
    what = BREAKERS[t.name][4]
    return Event(
        kind="risk.breaker_tripped",
        level=Level.RISK,
        title=f"circuit breaker {t.name} tripped: {what} {t.value:.4g} >= {t.threshold:.4g}",
        body=f"action {t.action}; stays tripped until {t.reset.replace('_', ' ')}"
        + (" (`regimeflex risk reset " + t.name + "`)" if t.reset == "manual" else ""),
        data={
            "breaker": t.name,
            "value": t.value,
            "threshold": t.threshold,
            "action": t.action,
            "reset": t.reset,
            "session": t.session.isoformat(),
        },
    )


def _reset_event(t: TrippedBreaker, why: str, session: dt.date, value: float | None = None) -> Event:
    return Event(
        kind="risk.breaker_reset",
        level=Level.INFO,
        title=f"circuit breaker {t.name} reset ({why})",
        body=f"tripped on {t.session.isoformat()} at {t.value:.4g} (threshold {t.threshold:.4g})",
        data={
            "breaker": t.name,
            "why": why,
            "value": value,
            "threshold": t.threshold,
            "tripped_on": t.session.isoformat(),
            "session": session.isoformat(),
        },
    )


def _still_tripped(t: TrippedBreaker, spec: BreakerSpec | None, value: float | None, session: dt.date) -> str | None:
    """None when ``t`` stays tripped, else why it resets."""
    if spec is None:
        return "switched off in risk.yaml"
    if t.reset == "next_session" and session > t.session:
        return "next session"
    if t.reset == "recovery" and value is not None:
        level = spec.recover_below if spec.recover_below is not None else spec.threshold
        if value < level:
            return f"recovered to {value:.4g} < {level:.4g}"
    return None


def check_circuit_breakers(
    inputs: BreakerInputs, settings: CircuitBreakerSettings, state: BreakerState | None = None
) -> BreakerDecision:
    """Evaluate every enabled breaker for one session (pure: same inputs, same decision).

    :param inputs: the session's numbers (missing ones skip their breaker).
    :param settings: ``risk.circuit_breakers`` from risk.yaml.
    :param state: the state returned by the previous call (None on the very first run).
    :returns: a :class:`BreakerDecision` whose ``state`` the caller must persist.
    """
    state = state or BreakerState()
    enabled = settings.enabled()
    peak = state.peak_equity
    if inputs.equity is not None:
        peak = inputs.equity if peak is None else max(peak, inputs.equity)
    values = {name: measure(name, inputs, peak) for name in enabled}
    events: list[Event] = []
    tripped: dict[str, TrippedBreaker] = {}
    for name, t in state.tripped.items():
        why = _still_tripped(t, enabled.get(name), values.get(name), inputs.session)
        if why is None:
            tripped[name] = t
        else:
            events.append(_reset_event(t, why, inputs.session, values.get(name)))
    for name, spec in enabled.items():
        value = values[name]
        if name in tripped or value is None or not reaches(value, spec.threshold):
            continue
        t = TrippedBreaker(
            name=name,
            session=inputs.session,
            value=float(value),
            threshold=float(spec.threshold),
            action=spec.action,
            reset=spec.reset,
        )
        tripped[name] = t
        events.append(_trip_event(t))
    specs = [
        enabled.get(name) or BreakerSpec(threshold=t.threshold, action=t.action, reset=t.reset)
        for name, t in tripped.items()
    ]
    kinds = [s.action_kind for s in specs]
    flatten = "flatten" in kinds
    scale = 0.0 if flatten else float(np.prod([s.reduce_factor for s in specs if s.action_kind == "reduce"]))
    new_state = BreakerState(
        peak_equity=peak,
        last_equity=inputs.equity if inputs.equity is not None else state.last_equity,
        last_session=inputs.session,
        tripped=tripped,
        no_data=tuple(n for n, v in values.items() if v is None and n not in tripped),
    )
    return BreakerDecision(
        state=new_state,
        events=tuple(events),
        tripped=tuple(tripped),
        block_entries=flatten or "block_entries" in kinds,
        flatten=flatten,
        scale=scale,
        values=values,
    )


def reset_breaker(state: BreakerState, name: str) -> tuple[BreakerState, Event]:
    """Clear a tripped breaker by hand (any reset rule). Resetting ``max_drawdown`` also
    re-bases the equity peak to the last known equity, so it does not trip again at once.

    :raises KeyError: naming the breaker and the ones that are tripped, when it is not tripped.
    """
    if name not in state.tripped:
        tripped = ", ".join(sorted(state.tripped)) or "none"
        raise KeyError(f"circuit breaker {name!r} is not tripped (tripped: {tripped})")
    t = state.tripped[name]
    remaining = {k: v for k, v in state.tripped.items() if k != name}
    peak = state.last_equity if name == "max_drawdown" and state.last_equity is not None else state.peak_equity
    session = state.last_session or t.session
    return replace(state, tripped=remaining, peak_equity=peak), _reset_event(t, "manual", session)


def without_entries(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """``target`` with no new position, no increase and no flip relative to ``current``
    (each cut back to the current weight); exits and reductions pass. Arrays of any shape."""
    same_side = (np.sign(target) == np.sign(current)) & (current != 0)
    return np.where(same_side, np.sign(current) * np.minimum(np.abs(target), np.abs(current)), 0.0)


def apply_breaker_action(targets: pd.Series, current: pd.Series, decision: BreakerDecision) -> pd.Series:
    """What the tripped breakers leave of the target weights.

    ``flatten`` → all 0; ``block_entries`` → no new position, no increase and
    no flip (a target is cut back to the current weight; exits and reductions
    pass); ``reduce:<x>`` → the result × x. Symbols missing from ``current``
    are held at 0.
    """
    current = current.reindex(targets.index).fillna(0.0)
    tgt, cur = targets.to_numpy(dtype="float64"), current.to_numpy(dtype="float64")
    if decision.flatten:
        return pd.Series(0.0, index=targets.index, name=targets.name)
    out = tgt
    if decision.block_entries:
        out = without_entries(tgt, cur)
    out = out * decision.scale if decision.tripped else out
    return pd.Series(out + 0.0, index=targets.index, name=targets.name)
