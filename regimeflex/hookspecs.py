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
notifier      :func:`notify`, :func:`serve_commands` (optional: chat control)
(any)         :func:`settings_model`, :func:`capabilities`,
              :func:`required_env`
============  =====================================================

``docs/hooks.md`` is generated from this module (``python -m
regimeflex.hookspecs > docs/hooks.md``... see :func:`render_docs`);
``tests/test_docs.py`` fails when the two differ. :data:`HOOK_API_VERSION`
is the API version plugins declare against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
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
        CommandContext,
        CorporateAction,
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

#: The hook API this core provides, as "MAJOR.MINOR". A plugin declares the API it was written
#: for with a module attribute ``REGIMEFLEX_HOOK_API = "1.0"`` beside its hookimpls; it loads
#: when the majors are equal and its minor is not newer than the core's. The minor grows with
#: an added hook or an added optional argument; the major with a removal or a changed meaning
#: (after a deprecation period, see :data:`RENAMED_HOOKS`).
HOOK_API_VERSION = "1.1"  # 1.1: serve_commands (chat control), indicator_lines, provide_corporate_actions

#: Hooks renamed in this major: old name → (new name, the hook API major that drops the old
#: name). A plugin implementing the old name still loads, is called under the new name, and
#: gets a DeprecationWarning naming both. Renamed arguments use pluggy's
#: ``hookspec(warn_on_impl_args={"old": DeprecationWarning("...")})`` on the spec itself.
RENAMED_HOOKS: dict[str, tuple[str, str]] = {}

#: The role each hook belongs to ("any": a plugin of any role may implement it).
HOOK_ROLES: dict[str, str] = {
    "provide_bars": "data",
    "bars_source": "data",
    "provide_corporate_actions": "data",
    "generate_signal": "strategy",
    "indicator_lines": "strategy",
    "size_position": "sizer",
    "execute_orders": "broker",
    "broker_account": "broker",
    "broker_orders": "broker",
    "broker_fills": "broker",
    "cancel_open_orders": "broker",
    "cancel_orders": "broker",
    "notify": "notifier",
    "serve_commands": "notifier",
    "settings_model": "any",
    "capabilities": "any",
    "required_env": "any",
}


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

    Example::

        from regimeflex.api import BAR_FIELDS, empty_bars, hookimpl, make_bars


        @hookimpl
        def provide_bars(request):
            table = my_vendor.daily(
                request.symbols, request.start, request.end, api_key=os.environ["MYVENDOR_API_KEY"]
            )  # long frame: date, symbol, fields
            if table.empty:
                return empty_bars(tuple(request.symbols))
            wide = table.pivot(index="date", columns="symbol")
            return make_bars({f: wide[f] for f in BAR_FIELDS})
    """


@hookspec(firstresult=True)
def provide_corporate_actions(
    symbols: Sequence[str], start: date, end: date, settings: Mapping[str, Any]
) -> list[CorporateAction] | None:
    """Return the splits and cash dividends of ``symbols`` with an ex-date from ``start`` to ``end``.

    Role: **data** (optional). Called on the selected provider for the symbols the
    ledger holds; the core records each action once, on its ex-date, as a ``split`` or
    ``dividend`` ledger entry (:mod:`regimeflex.ledger.corporate`), and the positions,
    cost-basis and cash views apply them, so reconcile expects the broker's post-split
    quantity. ``firstresult``: one plugin answers.

    :param symbols: upper-case symbols.
    :param start: first ex-date wanted (inclusive).
    :param end: last ex-date wanted (inclusive).
    :param settings: the provider's validated ``providers.<name>`` section of data.yaml,
        read-only.

    :returns: a list of :class:`~regimeflex.types.CorporateAction` — ``kind="split"`` with
        ``ratio`` = new shares per old share (2.0 for a 2-for-1, 0.02 for a 1-for-50 reverse
        split) or ``kind="dividend"`` with ``cash`` per share; an empty list when there are
        none; None (or no implementation) when the provider has no such data.

    Example::

        from regimeflex.api import CorporateAction, hookimpl


        @hookimpl
        def provide_corporate_actions(symbols, start, end, settings):
            rows = my_vendor.splits(symbols, start, end)  # [{"ticker", "date", "ratio"}]
            return [CorporateAction(r["ticker"], r["date"], "split", ratio=r["ratio"]) for r in rows]
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

    Example::

        from regimeflex.api import hookimpl


        @hookimpl
        def bars_source(request):
            return {"settings": {"feed": request.settings["feed"]}}
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

    Example::

        import numpy as np
        import pandas as pd
        from regimeflex.api import hookimpl


        @hookimpl
        def generate_signal(bars, params):
            if bars.shape[1] == 0:  # a universe with no symbols
                return pd.DataFrame(index=bars.index, dtype="float64")
            close = bars["close"]
            lookback = int(params.get("lookback", 20))
            return np.sign(close / close.shift(lookback) - 1.0).astype("float64")  # uses bars up to t only
    """


@hookspec(firstresult=True)
def indicator_lines(bars: Bars, params: Mapping[str, Any]) -> Mapping[str, pd.DataFrame] | None:
    """Return the lines the strategy's rule reads, for drawing on a price chart.

    Role: **strategy** (optional). Called by ``regimeflex report symbol`` and
    the tear sheet's symbol pages, once per strategy instance, with the same
    ``bars`` and ``params`` as :func:`generate_signal`. ``firstresult``.

    :returns: a mapping of line name (e.g. ``"SMA 50"``) → dates × symbols
        float64 DataFrame on the index of ``bars``, in price units (lines
        that are not prices, such as a z-score, belong in their thresholds
        turned into prices, e.g. ``mean ± 2σ``). Return None (or do not
        implement the hook) and the page says the strategy draws no lines.

    Example::

        from regimeflex.api import hookimpl


        @hookimpl
        def indicator_lines(bars, params):
            window = params["window"]
            return {f"SMA {window}": bars["close"].rolling(window).mean()}
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
        plugin's :func:`settings_model`), as a read-only mapping. A sizer whose
        settings model has a ``stops`` field (and the user set none) receives
        risk.yaml's ``stops:`` section there: the protective stop the run places,
        so it can size from the real stop distance (``atr_risk`` does).

    :returns: a dates × symbols float64 DataFrame of target weights (fractions
        of equity, negative = short) with exactly the index and columns of
        ``signals``; no NaN (0 where there is no position). Must depend only on
        history up to each date. Account-dependent limits (cash, lots) are
        applied later by the order planner, never here.

    Example::

        from regimeflex.api import hookimpl


        @hookimpl
        def size_position(signals, bars, params):
            longs = signals.clip(lower=0.0)  # long-only: negative signals → flat
            gross = longs.sum(axis=1).where(lambda s: s > 0, 1.0)
            return longs.div(gross, axis=0).fillna(0.0).astype("float64")
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

    Example::

        from regimeflex.api import OrderResult, hookimpl


        @hookimpl
        def execute_orders(orders, context):
            results = []
            for order in orders:
                if context.kill_switch.engaged():
                    break  # kill switch: send nothing more
                # my_broker checks context.kill_switch before each retry and waits with context.kill_switch.wait()
                reply = my_broker.submit(order.symbol, order.side, order.qty, client_order_id=order.client_order_id)
                results.append(
                    OrderResult(
                        client_order_id=order.client_order_id,
                        status=reply.status,
                        symbol=order.symbol,
                        side=order.side,
                        qty=order.qty,
                        broker_order_id=reply.id,
                        message=reply.message,
                    )
                )
            return results
    """


@hookspec(firstresult=True)
def broker_account(context: BrokerContext) -> Account | None:
    """Return the account snapshot (equity, cash, buying power, positions).

    Role: **broker**. Called before planning and during reconciliation.
    ``firstresult``. Return None when the broker cannot report an account
    (the planner then uses the ledger's derived positions and configured equity).

    Example::

        from regimeflex.api import Account, Position, hookimpl


        @hookimpl
        def broker_account(context):
            acct = my_broker.account()
            positions = {p.symbol: Position(p.symbol, p.qty, p.avg_price) for p in my_broker.positions()}
            return Account(equity=acct.equity, cash=acct.cash, buying_power=acct.buying_power, positions=positions)
    """


@hookspec(firstresult=True)
def broker_orders(client_order_ids: Sequence[str], context: BrokerContext) -> list[OrderResult]:
    """Look up orders by client order id (an empty sequence means "all open orders").

    Role: **broker**. Used by reconciliation and crash recovery: before any
    resend the runner asks whether the broker already knows the id.
    ``firstresult``. Unknown ids are simply absent from the result.

    Example::

        from regimeflex.api import hookimpl


        @hookimpl
        def broker_orders(client_order_ids, context):
            found = (
                my_broker.orders(status="open")
                if not client_order_ids
                else [o for cid in client_order_ids if (o := my_broker.order_by_client_id(cid)) is not None]
            )
            return [to_order_result(o) for o in found]  # unknown ids are simply absent
    """


@hookspec(firstresult=True)
def broker_fills(since: datetime | None, context: BrokerContext) -> list[Fill]:
    """Return fills (executions) since ``since`` (None = all the broker keeps).

    Role: **broker**. Reconciliation writes any fill the ledger lacks.
    ``firstresult``. Each fill carries a broker-unique ``fill_id``.

    Example::

        from regimeflex.api import Fill, hookimpl


        @hookimpl
        def broker_fills(since, context):
            return [
                Fill(
                    fill_id=f.id,
                    client_order_id=f.client_order_id,
                    symbol=f.symbol,
                    side=f.side,
                    qty=f.qty,
                    price=f.price,
                    ts=f.time,
                )
                for f in my_broker.executions(after=since)
            ]
    """


@hookspec(firstresult=True)
def cancel_open_orders(context: BrokerContext) -> list[OrderResult]:
    """Cancel every open order and return the cancel results.

    Role: **broker**. Called by ``regimeflex kill on --cancel-open``. ``firstresult``.

    Example::

        from regimeflex.api import hookimpl


        @hookimpl
        def cancel_open_orders(context):
            return [to_order_result(my_broker.cancel(o.id)) for o in my_broker.orders(status="open")]
    """


@hookspec(firstresult=True)
def cancel_orders(client_order_ids: Sequence[str], context: BrokerContext) -> list[OrderResult]:
    """Cancel the open orders with these client order ids and return their results after the cancel.

    Role: **broker** (optional; needed with the ``supports_stops`` capability). Called before a
    planned sell to take a protective stop order off the shares it holds, and by the conformance
    kit's ``broker.stop_round_trip/v1``. ``firstresult``.

    :param client_order_ids: ids the broker was sent; an id it does not know, or an order no
        longer open, is left out of the answer (or answered with its final status).
    :param context: the :class:`~regimeflex.types.BrokerContext`.
    :returns: one :class:`~regimeflex.types.OrderResult` per canceled (or already final) order.

    Example::

        from regimeflex.api import hookimpl


        @hookimpl
        def cancel_orders(client_order_ids, context):
            return [to_order_result(my_broker.cancel_by_client_id(c)) for c in client_order_ids]
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

    Example::

        from regimeflex.api import hookimpl


        @hookimpl
        def notify(event, context):
            my_chat.send(channel=context.settings["room"], text=f"[{event.level.name}] {event.title}\\n{event.body}")
    """


@hookspec(firstresult=True)
def serve_commands(context: CommandContext) -> None:
    """Serve chat commands on this notifier's channel until ``context.should_stop()``.

    Role: **notifier** (optional: chat control). Called by ``regimeflex bot``
    on the channel named by ``bot.channel`` in run.yaml, once, in a long-running process (a systemd service). Only chat
    plugins that can *receive* messages implement it (telegram does; a Discord
    or Slack plugin could). ``firstresult``: one plugin answers. Added in hook
    API 1.1.

    The plugin owns the transport: receive messages (long polling or a
    socket), remember where it is across restarts in ``context.state_dir``,
    send replies, and ride out the service's rate limits and network drops
    (back off, retry). The core owns everything else. Pass every received
    message to ``context.handle(request)`` as a
    :class:`~regimeflex.types.CommandRequest` (``channel``, ``chat_id``,
    ``user_id``, ``text``, ``user_name``, ``message_id``, ``sent_at``) and send
    the :class:`~regimeflex.types.CommandReply` it returns (``text``, or
    ``document`` as a file with ``caption``) back to the same chat; ``None``
    means ignore the message — an unknown sender gets no answer. The core
    checks the allow-lists (chat id *and* user id), runs the command, engages
    the kill switch and records the ledger entry. Call ``context.idle()``
    between polls (the core writes pending ledger records then, never waiting
    for a running cycle). Return when ``context.should_stop()`` is True.
    Raise :class:`regimeflex.errors.ConfigError` only for what a retry cannot
    fix (a missing or revoked token).

    :param context: a :class:`~regimeflex.types.CommandContext`: ``channel``,
        the channel's validated ``settings``, a ``state_dir``, the
        ``commands`` the core answers (:class:`~regimeflex.types.CommandSpec`:
        ``name``, ``help``, ``writes``; e.g. for a menu) and the callables
        ``handle``, ``idle`` and ``should_stop``.

    Example::

        from regimeflex.api import CommandRequest, hookimpl


        @hookimpl
        def serve_commands(context):
            client = MyChat(token=os.environ["MYCHAT_TOKEN"])
            cursor = load_cursor(context.state_dir)
            while not context.should_stop():
                context.idle()
                for msg in client.poll(after=cursor, wait=30):
                    reply = context.handle(
                        CommandRequest(
                            channel=context.channel,
                            chat_id=str(msg.room),
                            user_id=str(msg.author),
                            text=msg.text,
                            sent_at=msg.time,
                        )
                    )
                    if reply is not None:
                        client.send(msg.room, reply.text, file=reply.document)
                    cursor = msg.id
                    save_cursor(context.state_dir, cursor)
    """


# ---------------------------------------------------------------- any role


@hookspec(firstresult=True)
def settings_model() -> type[BaseModel] | None:
    """Return the pydantic model that validates this plugin's YAML section.

    Called on each selected plugin when the configuration is loaded (and by
    ``regimeflex config validate``). The model should forbid unknown keys so
    typos fail loudly, and must not accept secrets (those come from the
    environment). Return None when the plugin takes no settings.

    Example::

        from pydantic import BaseModel, ConfigDict, Field
        from regimeflex.api import hookimpl


        class MomentumParams(BaseModel):
            model_config = ConfigDict(extra="forbid", frozen=True)  # typos fail loudly
            lookback: int = Field(20, ge=1)


        @hookimpl
        def settings_model():
            return MomentumParams
    """


@hookspec(firstresult=True)
def capabilities() -> Mapping[str, bool] | None:
    """Return capability tags, e.g. ``{"supports_fractional": True, "supports_short": False}``.

    Read by the conformance kit (checks that do not apply are skipped by
    declaration) and by the order planner. Return None for the defaults
    (every tag False).

    Example::

        from regimeflex.api import hookimpl


        @hookimpl
        def capabilities():
            return {"supports_short": False, "supports_fractional": True}
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

    Example::

        from regimeflex.api import hookimpl


        @hookimpl
        def required_env(settings):
            return [settings.get("key_env", "MYVENDOR_API_KEY")]
    """
