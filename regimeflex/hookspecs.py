"""The plugin contract: every hook RegimeFlex calls, declared and documented here.

This module owns the hook specifications (pluggy) and the two public markers,
:data:`hookspec` and :data:`hookimpl`. It is the one place a plugin author
reads to learn what to implement. Core code never calls these hooks directly;
it goes through :class:`regimeflex.plugins.PluginHost`, which selects the
plugin the YAML names for each role and checks what it returns.

Roles and their hooks:

============  =====================================================
role          hooks
============  =====================================================
data          :func:`provide_bars`, :func:`bars_source`
strategy      :func:`generate_signal`
sizer         :func:`size_position`
broker        :func:`execute_orders`, :func:`broker_account`,
              :func:`broker_orders`, :func:`broker_fills`,
              :func:`cancel_open_orders`
notifier      :func:`notify`
(any)         :func:`settings_model`, :func:`capabilities`,
              :func:`required_env`
============  =====================================================

``docs/hooks.md`` repeats every signature below; ``tests/test_docs.py`` fails
when the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel

    from regimeflex.types import (
        Account,
        Bars,
        BarsRequest,
        BrokerContext,
        Event,
        Fill,
        NotifyContext,
        Order,
        OrderResult,
    )

PROJECT_NAME = "regimeflex"

#: Marker for hook specifications (used only in this module).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marker a plugin puts on each hook implementation: ``@regimeflex.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --------------------------------------------------------------------- data


@hookspec(firstresult=True)
def provide_bars(request: BarsRequest) -> Bars | None:
    """Return daily bars for ``request.symbols`` between ``request.start`` and
    ``request.end`` (inclusive session dates).

    Role: **data**. Called on the one provider selected by ``provider:`` in
    data.yaml, only for sessions the cache lacks or when ``--refresh`` is
    given. ``firstresult``: one plugin answers.

    :param request: a :class:`~regimeflex.types.BarsRequest`; its ``settings``
        is the provider's validated ``providers.<name>`` section of data.yaml as
        a read-only mapping; ``adjusted`` says whether split/dividend-adjusted
        prices are wanted.

    :returns: a Bars panel (DESIGN §3): index = tz-naive ``datetime64[ns]``
        session dates, ascending and unique; columns = MultiIndex
        ``(field, symbol)`` with fields ``open high low close volume``;
        float64. A symbol the vendor does not know is simply absent (the
        runner reports it); sessions without a bar are NaN rows, never
        forward-filled. Return a panel with no rows when there is no data.
        The core normalises and validates the result before caching it.

    Raise :class:`regimeflex.errors.ProviderError` for vendor failures (after
    bounded retries); the runner then falls back to the cache with a RISK event.
    """


@hookspec(firstresult=True)
def bars_source(request: BarsRequest) -> Mapping[str, Any] | None:
    """Say what :func:`provide_bars` would read for each symbol, without reading any bars.

    Role: **data** (optional). Called on the selected provider at the start of
    every load, so the cache can notice that a symbol's source changed since
    it was cached and re-fetch it (with one INFO line saying why).

    :param request: the same :class:`~regimeflex.types.BarsRequest` a fetch
        would get (``start``/``end`` are the run's range).

    :returns: a mapping with two optional keys: ``"settings"``, the provider
        settings whose change changes the values returned (a feed, an
        adjustment mode, a file path — not timeouts or retries), as plain
        JSON-able values; and ``"files"``, ``{SYMBOL: [path, ...]}`` — the
        local files each symbol's bars are read from (an empty list when no
        file serves it). The core records each file's size, mtime and SHA-256
        and compares them on the next load. Return None (or do not implement
        the hook) and the core uses the whole validated settings section and
        no files.
    """


# ----------------------------------------------------------------- strategy


@hookspec
def generate_signal(bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    """Return the strategy's signal for every date and symbol of ``bars``.

    Role: **strategy**. Called once per strategy instance in strategies.yaml,
    on the plugin that instance names. A backtest calls it once over the whole
    history; a daily run calls the same function and uses the last row.

    :param bars: the Bars panel (read it, never mutate it).
    :param params: the instance's ``params`` from strategies.yaml, validated by
        the plugin's :func:`settings_model` when it has one, as a read-only mapping.

    :returns: a dates × symbols float64 DataFrame with exactly the index of
        ``bars`` and its symbols as columns; values in ``[-1, 1]`` (sign =
        direction, magnitude = conviction, 0 = flat). NaN only during warm-up.
        The value on date *t* may depend on bars up to and including *t* only
        (the conformance kit checks this).
    """


# -------------------------------------------------------------------- sizer


@hookspec(firstresult=True)
def size_position(signals: pd.DataFrame, bars: Bars, params: Mapping[str, Any]) -> pd.DataFrame:
    """Turn combined signals into target portfolio weights.

    Role: **sizer**. Called on the one sizer selected by ``sizer.plugin`` in
    risk.yaml, after the strategies' signals have been combined by their risk
    budgets. ``firstresult``: one plugin answers.

    :param signals: dates × symbols float frame aligned to ``bars``, in ``[-1, 1]``.
    :param bars: the Bars panel (for volatility, ATR, prices).
    :param params: the ``sizer.params`` section of risk.yaml (validated by the
        plugin's :func:`settings_model`), as a read-only mapping.

    :returns: a dates × symbols float64 DataFrame of target weights (fractions
        of equity, negative = short) with exactly the index and columns of
        ``signals``; no NaN (0 where there is no position). Must depend only on
        history up to each date. Account-dependent limits (cash, lots) are
        applied later by the order planner, never here.
    """


# ------------------------------------------------------------------- broker


@hookspec(firstresult=True)
def execute_orders(orders: Sequence[Order], context: BrokerContext) -> list[OrderResult]:
    """Send ``orders`` to the broker and return one result per order.

    Role: **broker**. Called on the broker selected by ``broker:`` in
    broker.yaml, only when the effective mode is ``paper`` or ``live``
    (``dry_run`` never calls it). Every order has already been written to the
    ledger as an intent. ``firstresult``.

    :param orders: planned orders, sells first; each has a deterministic
        ``client_order_id`` that the broker must pass through, so a resend of
        the same id is recognised as a duplicate and not placed twice.
    :param context: a :class:`~regimeflex.types.BrokerContext`. Its
        ``kill_switch`` (a :class:`~regimeflex.killguard.KillGuard`) is the
        core's kill switch: call ``context.kill_switch.check()`` before every
        request (each order's first send, every retry and lookup) and wait
        between attempts only with ``context.kill_switch.wait(seconds)``; both
        raise :class:`~regimeflex.errors.KillSwitchEngaged` once it is engaged.
        Sessions from :func:`regimeflex.http.make_session` with
        ``guard=context.kill_switch`` do this for every request and retry wait.
        Between orders, stop when ``context.kill_switch.engaged()``: return the
        results so far, or let ``KillSwitchEngaged`` propagate when it is raised
        in the middle of an order. Either way nothing more may be sent.

    :returns: a list of :class:`~regimeflex.types.OrderResult`, one per order
        submitted, in order. Rejections are results with ``status="rejected"``
        and a message, not exceptions; raise
        :class:`regimeflex.errors.BrokerError` only when the broker cannot be
        reached at all after bounded retries.
    """


@hookspec(firstresult=True)
def broker_account(context: BrokerContext) -> Account | None:
    """Return the account snapshot (equity, cash, buying power, positions).

    Role: **broker**. Called before planning and during reconciliation.
    ``firstresult``. Return None when the broker cannot report an account
    (the planner then uses the ledger's derived positions and configured equity).
    """


@hookspec(firstresult=True)
def broker_orders(client_order_ids: Sequence[str], context: BrokerContext) -> list[OrderResult]:
    """Look up orders by client order id (an empty sequence means "all open orders").

    Role: **broker**. Used by reconciliation and crash recovery: before any
    resend the runner asks whether the broker already knows the id.
    ``firstresult``. Unknown ids are simply absent from the result.
    """


@hookspec(firstresult=True)
def broker_fills(since: datetime | None, context: BrokerContext) -> list[Fill]:
    """Return fills (executions) since ``since`` (None = all the broker keeps).

    Role: **broker**. Reconciliation writes any fill the ledger lacks.
    ``firstresult``. Each fill carries a broker-unique ``fill_id``.
    """


@hookspec(firstresult=True)
def cancel_open_orders(context: BrokerContext) -> list[OrderResult]:
    """Cancel every open order and return the cancel results.

    Role: **broker**. Called by ``regimeflex kill on --cancel-open``. ``firstresult``.
    """


# ----------------------------------------------------------------- notifier


@hookspec
def notify(event: Event, context: NotifyContext) -> None:
    """Deliver ``event`` on this notifier's channel.

    Role: **notifier**. Called on every notifier listed under ``notify.channels``
    in run.yaml whose minimum level the event reaches, off the main path
    (thread pool with a timeout). A notifier that raises is logged and
    recorded; it never stops a cycle or another notifier. Raise
    :class:`regimeflex.notify.DeliveryError` with ``permanent=True`` when a
    retry cannot help (bad token, unknown chat): the error is reported once
    and the channel is not called again during that run.

    :param event: a :class:`~regimeflex.types.Event` (kind, level, title, body, data, attachments).
    :param context: a :class:`~regimeflex.types.NotifyContext` with the
        channel's validated settings as a read-only mapping.
    """


# ---------------------------------------------------------------- any role


@hookspec(firstresult=True)
def settings_model() -> type[BaseModel] | None:
    """Return the pydantic model that validates this plugin's YAML section.

    Called on each selected plugin when the configuration is loaded (and by
    ``regimeflex config validate``). The model should forbid unknown keys so
    typos fail loudly, and must not accept secrets (those come from the
    environment). Return None when the plugin takes no settings.
    """


@hookspec(firstresult=True)
def capabilities() -> Mapping[str, bool] | None:
    """Return capability tags, e.g. ``{"supports_fractional": True, "supports_short": False}``.

    Read by the conformance kit (checks that do not apply are skipped by
    declaration) and by the order planner. Return None for the defaults
    (every tag False).
    """


@hookspec(firstresult=True)
def required_env(settings: Mapping[str, Any]) -> Sequence[str] | None:
    """Return the names of the environment variables this plugin needs (e.g. API keys).

    ``regimeflex doctor`` reports each as present or missing — names only,
    never values — for the plugins the configuration selects. Return None
    when the plugin needs none.

    :param settings: the plugin's validated YAML section as a read-only
        mapping (a plugin whose settings rename its variables, e.g.
        ``token_env``, answers with the configured names).
    """
