"""Alpaca as a RegimeFlex broker: orders, account, positions, fills, cancels.

Owns the trading half of the Alpaca plugin (Trading API v2): ``POST
/v2/orders`` with the planner's deterministic ``client_order_id``, lookups
by client id (``GET /v2/orders:by_client_order_id``), open orders (``GET
/v2/orders`` paged by time), fills (``GET /v2/account/activities/FILL``),
``GET /v2/account`` + ``/v2/positions`` and ``DELETE /v2/orders``. The paper
endpoint is the default; the live endpoint is used only when the core's
effective mode is ``live`` (broker.yaml ``mode: live`` *and* ``--live``).

A ``stop`` order with ``take_profit_price`` (a protective stop with a take-profit) is sent as an
OCO exit: ``order_class: "oco"``, ``type: "limit"`` at the take-profit, ``take_profit.limit_price``
and ``stop_loss.stop_price``, GTC. Alpaca answers with the take-profit as the parent order (our
``client_order_id``) and the stop as its one leg (``legs``, Alpaca's own client id). Orders are
read with ``nested=true`` so a leg never shows up as an unknown order (a parent looked up alone
without its ``legs`` gets them from the nested order list); the parent's result
reports the group (a filled leg is the parent's fill), and a fill of either leg is the parent's
fill with ``reason`` ``take_profit`` or ``stop``.

A POST is never retried blindly. Error mapping:

* 403 "insufficient buying power" / "insufficient qty available" (shares held by an open order) and other 422s → a ``rejected`` result with Alpaca's message;
* 422 "client_order_id must be unique" → the order exists: look it up, treat it as placed;
* 401/403 otherwise → :class:`~regimeflex.errors.BrokerError` (check the keys);
* 429 → wait ``Retry-After`` (capped), look the id up, resend only if unknown;
* 5xx, timeouts, dropped connections → look the id up first; resend only if
  Alpaca does not know it, a bounded number of times, then BrokerError (the
  next run's recovery looks it up again before anything is resent).

The kill switch (``context.kill_switch``) is checked before the first POST,
before every lookup and resend, and throughout every wait; once it is engaged
the call raises :class:`~regimeflex.errors.KillSwitchEngaged` and no further
request leaves (the one already on the wire may complete).

Keys come from ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY`` only and are
sent as headers, never put in URLs, messages or results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import requests

from regimeflex.api import (
    Account,
    BrokerContext,
    BrokerError,
    Fill,
    KillGuard,
    Order,
    OrderResult,
    Position,
    get_logger,
    hookimpl,
    redact,
    vendor_message,
)
from regimeflex_alpaca.client import KEY_ID_ENV, SECRET_ENV, AlpacaClient, AlpacaError
from regimeflex_alpaca.config import LIVE_URL, AlpacaSettings

log = get_logger("alpaca.broker")

KEY_ENV = KEY_ID_ENV
SERVICE = "alpaca"

#: Alpaca order statuses → RegimeFlex's.
STATUS_MAP: dict[str, str] = {
    "new": "new",
    "pending_new": "new",
    "accepted": "accepted",
    "accepted_for_bidding": "accepted",
    "calculated": "accepted",
    "pending_cancel": "accepted",
    "pending_replace": "accepted",
    "done_for_day": "accepted",
    "stopped": "accepted",
    "suspended": "accepted",
    "held": "accepted",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "replaced": "canceled",
    "expired": "expired",
    "rejected": "rejected",
}
OPEN_PAGE = 500
FILL_PAGE = 100


@dataclass(frozen=True)
class MarketClock:
    is_open: bool
    timestamp: datetime | None
    next_open: datetime | None
    next_close: datetime | None


def broker_settings(context: BrokerContext) -> AlpacaSettings:
    """The shared Alpaca settings from ``brokers.alpaca`` (data-only keys are ignored here)."""
    raw = dict(context.settings or {})
    return AlpacaSettings.model_validate({k: v for k, v in raw.items() if k in AlpacaSettings.model_fields})


@dataclass
class AlpacaTrading:
    """The Trading API calls the broker needs, on the plugin's shared :class:`AlpacaClient`."""

    base_url: str
    settings: AlpacaSettings
    client: AlpacaClient
    guard: KillGuard

    @property
    def session(self) -> requests.Session:
        return self.client.session

    @classmethod
    def from_context(cls, context: BrokerContext) -> AlpacaTrading:
        settings = broker_settings(context)
        if context.mode == "live":
            base = settings.live_url
        else:
            base = settings.base_url
            if urlparse(base).hostname == urlparse(LIVE_URL).hostname:
                raise BrokerError(
                    f"alpaca: brokers.alpaca.base_url is the live endpoint ({base}) but the broker "
                    f"mode is {context.mode}; use the paper endpoint, or mode: live with --live"
                )
        guard = context.kill_switch
        return cls(base.rstrip("/"), settings, AlpacaClient(base, settings, service=SERVICE, guard=guard), guard)

    # ------------------------------------------------------------- reading
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        try:
            return self.client.get(path, params)
        except AlpacaError as exc:
            raise BrokerError(str(exc)) from None

    def order_by_client_id(self, client_order_id: str) -> dict[str, Any] | None:
        try:
            found = self.client.get(
                "/v2/orders:by_client_order_id", {"client_order_id": client_order_id, "nested": "true"}
            )
        except AlpacaError as exc:
            if exc.status in (404, 422):  # unknown id (422 "order_id is missing" on some gateways)
                return None
            raise BrokerError(str(exc)) from None
        return self.with_legs(found) if isinstance(found, dict) else found

    def with_legs(self, order: dict[str, Any]) -> dict[str, Any]:
        """An OCO/bracket parent answered without its ``legs`` (``nested`` is documented for the order
        list only): its legs from ``GET /v2/orders?status=all&nested=true`` for its symbol since it was created."""
        if str(order.get("order_class", "")) not in ("oco", "bracket") or order.get("legs") or _is_leg(order):
            return order
        created = _time(order.get("created_at"))
        after = None if created is None else (created - timedelta(seconds=1)).astimezone(UTC).isoformat()
        for listed in self.list_orders("all", after=after, symbol=str(order.get("symbol", ""))):
            if listed.get("id") == order.get("id"):
                return {**order, "legs": listed.get("legs")}
        return order

    def open_orders(self) -> list[dict[str, Any]]:
        """Every open order (an OCO's leg nested under its parent), paging forward by creation time."""
        return self.list_orders("open")

    def list_orders(self, status: str, after: str | None = None, symbol: str | None = None) -> list[dict[str, Any]]:
        """Orders of ``status`` (open | closed | all) with ``nested=true``, paging forward by creation time."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"status": status, "limit": OPEN_PAGE, "direction": "asc", "nested": "true"}
            if symbol:
                params["symbols"] = symbol
            if after:
                params["after"] = after
            page = self.get("/v2/orders", params) or []
            fresh = [o for o in page if o["id"] not in seen]
            out += fresh
            seen.update(o["id"] for o in fresh)
            if len(page) < OPEN_PAGE or not fresh:
                return out
            after = page[-1]["created_at"]

    def fills(self, since: datetime | None) -> list[dict[str, Any]]:
        """FILL activities since ``since``, oldest first, paging with page_token."""
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"direction": "asc", "page_size": FILL_PAGE}
            if since is not None:
                params["after"] = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
            if token:
                params["page_token"] = token
            page = self.get("/v2/account/activities/FILL", params) or []
            out += page
            if len(page) < FILL_PAGE:
                return out
            token = page[-1]["id"]

    # ------------------------------------------------------------- writing
    def submit(self, order: Order) -> OrderResult:
        """POST one order; never resend without first asking Alpaca whether it has the id.

        The kill switch is checked before the first POST, before every lookup and
        resend, and throughout every wait (backoff, Retry-After): once it is engaged
        :class:`~regimeflex.errors.KillSwitchEngaged` is raised and nothing more is sent.
        """
        body = order_body(order, self.settings.extended_hours)
        url = self.base_url + "/v2/orders"
        coid = order.client_order_id
        last_problem = ""
        for attempt in range(1, self.settings.max_submit_attempts + 1):
            if attempt > 1:
                found = self.order_by_client_id(coid)
                if found is not None:
                    log.info("alpaca: %s was placed by an earlier attempt; not resending", coid)
                    return order_result(found)
            self.guard.check(f"order {coid}")
            try:
                response = self.session.post(url, json=body, timeout=self.settings.timeout)
            except requests.exceptions.RequestException as exc:
                last_problem = f"POST {url} failed: {type(exc).__name__}"
                log.risk(
                    "alpaca: %s (attempt %d); looking the order up before any resend", redact(last_problem), attempt
                )
                self._pause(attempt, coid)
                continue
            payload = _json(response)
            status = response.status_code
            if status in (200, 201):
                return order_result(payload)
            message = vendor_message(payload)
            if status == 422 and "client_order_id must be unique" in message:
                found = self.order_by_client_id(coid)
                if found is not None:
                    return order_result(found)
                last_problem = f"HTTP 422 {message} but the order cannot be found by client id"
                continue
            if status == 403 and ("buying power" in message.lower() or "insufficient qty" in message.lower()):
                return _rejected(order, f"alpaca: {message}")
            if status in (401, 403):
                raise BrokerError(
                    f"alpaca: POST /v2/orders → HTTP {status}: {message}; check {KEY_ENV} and "
                    f"{SECRET_ENV} (paper keys only work on the paper endpoint)"
                )
            if status in (400, 404, 422):
                return _rejected(order, f"alpaca: HTTP {status}: {message}")
            if status == 429:
                wait = _retry_after(response, self.settings.retry_after_max)
                last_problem = f"HTTP 429 rate limited (Retry-After {wait:g}s)"
                log.risk("alpaca: %s; waiting before looking %s up", last_problem, coid)
                self.guard.wait(wait, f"order {coid}")
                continue
            last_problem = f"HTTP {status}: {message}"
            log.risk(
                "alpaca: POST /v2/orders → %s (attempt %d); looking the order up before any resend",
                last_problem,
                attempt,
            )
            self._pause(attempt, coid)
        found = self.order_by_client_id(coid)
        if found is not None:
            return order_result(found)
        raise BrokerError(
            f"alpaca: could not place {coid} after {self.settings.max_submit_attempts} "
            f"attempt(s) ({redact(last_problem)}); it is not at Alpaca; the next run looks it up again "
            "before resending"
        )

    def clock(self) -> MarketClock:
        """``GET /v2/clock``: whether the market is open now and when it next opens and closes."""
        body = self.get("/v2/clock")
        return MarketClock(
            is_open=bool(body.get("is_open")),
            timestamp=_time(body.get("timestamp")),
            next_open=_time(body.get("next_open")),
            next_close=_time(body.get("next_close")),
        )

    def cancel_all(self) -> list[dict[str, Any]]:
        try:
            return self.client.delete("/v2/orders") or []
        except AlpacaError as exc:
            raise BrokerError(str(exc)) from None

    def cancel(self, client_order_id: str) -> dict[str, Any] | None:
        """``DELETE /v2/orders/{id}`` of the order with this client id; its body afterwards (None: unknown).

        The kill switch does not stop a cancel: taking an order off the book is always safe."""
        found = self.order_by_client_id(client_order_id)
        if found is None or STATUS_MAP.get(str(found.get("status")), "") not in ("new", "accepted", "partially_filled"):
            return found
        try:
            self.client.delete(f"/v2/orders/{found['id']}")
        except AlpacaError as exc:
            if exc.status != 422:  # 422: no longer cancelable (it filled meanwhile): the lookup says what it is
                raise BrokerError(str(exc)) from None
        return self.order_by_client_id(client_order_id)

    def _pause(self, attempt: int, coid: str) -> None:
        self.guard.wait(min(self.settings.backoff * (2 ** (attempt - 1)), 30.0), f"order {coid}")


# ------------------------------------------------------------------ mapping


def order_body(order: Order, extended_hours: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": order.symbol,
        "qty": _num(order.qty),
        "side": order.side,
        "type": order.type,
        "time_in_force": order.time_in_force,
        "client_order_id": order.client_order_id,
    }
    if order.type == "limit" and order.limit_price is not None:
        body["limit_price"] = _num(order.limit_price)
    if order.type == "stop" and order.stop_price is not None and order.take_profit_price is not None:
        # a stop with a take-profit: one OCO exit, the take-profit (limit) is the parent, the stop its leg
        body["type"] = "limit"
        body["order_class"] = "oco"
        body["limit_price"] = _num(round(order.take_profit_price, 2))
        body["take_profit"] = {"limit_price": _num(round(order.take_profit_price, 2))}
        body["stop_loss"] = {"stop_price": _num(round(order.stop_price, 2))}
        return body  # OCO orders rest in the regular session only (no extended_hours)
    if order.type == "stop" and order.stop_price is not None:  # a sell stop: market once the price reaches it
        body["stop_price"] = _num(round(order.stop_price, 2))  # Alpaca takes cents at and above $1
    if order.type == "trailing_stop" and order.trail_price is not None:
        body["trail_price"] = _num(round(order.trail_price, 2))
    if order.type in ("stop", "trailing_stop"):
        return body  # stop orders rest in the regular session only (no extended_hours)
    if extended_hours:
        body["extended_hours"] = True
    return body


def _num(value: float) -> str:
    text = f"{float(value):.9f}".rstrip("0").rstrip(".")
    return text or "0"


def _float(value: Any, default: float = 0.0) -> float:
    if value is None or value == "":
        return default
    return float(value)


def order_result(body: Mapping[str, Any]) -> OrderResult:
    """An Alpaca order object (numbers as strings or numbers) → OrderResult.

    An OCO parent with its ``legs`` reports the group: when a leg has fills (the stop of an OCO
    exit), its status and fills are the parent's — Alpaca canceled the take-profit because of them."""
    raw_status = str(body.get("status", ""))
    avg = body.get("filled_avg_price")
    filled = _float(body.get("filled_qty"))
    for leg in body.get("legs") or []:
        if filled <= 0 and _float(leg.get("filled_qty")) > 0:
            raw_status, avg, filled = str(leg.get("status", "")), leg.get("filled_avg_price"), _float(leg["filled_qty"])
    return OrderResult(
        client_order_id=str(body.get("client_order_id", "")),
        status=STATUS_MAP.get(raw_status, "unknown"),  # type: ignore[arg-type]
        symbol=str(body.get("symbol", "")),
        side=body.get("side"),
        qty=_float(body.get("qty")),
        filled_qty=filled,
        filled_avg_price=_float(avg) if avg not in (None, "", 0, "0") else None,
        broker_order_id=str(body["id"]) if body.get("id") else None,
        message="" if raw_status in STATUS_MAP else f"alpaca status {raw_status!r}",
        submitted_at=_time(body.get("submitted_at")),
    )


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Alpaca sends up to nanoseconds; Python parses microseconds
        n = len(rest) - len(rest.lstrip("0123456789"))
        digits, tz = rest[:n], rest[n:]
        text = f"{head}.{digits[:6]}{tz}"
    return datetime.fromisoformat(text)


def _rejected(order: Order, message: str) -> OrderResult:
    return OrderResult(
        client_order_id=order.client_order_id,
        status="rejected",
        symbol=order.symbol,
        side=order.side,
        qty=order.qty,
        message=redact(message),
    )


def _json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _retry_after(response: requests.Response, cap: float) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, min(float(value), cap))
    except ValueError:
        return min(1.0, cap)


# -------------------------------------------------------------------- hooks


@hookimpl
def execute_orders(orders: Sequence[Order], context: BrokerContext) -> list[OrderResult]:
    client = AlpacaTrading.from_context(context)
    results = []
    for order in orders:
        if context.kill_switch.engaged():
            log.risk("alpaca: kill switch engaged; %s and later orders not sent", order.client_order_id)
            break
        result = client.submit(order)  # raises KillSwitchEngaged when the switch is engaged mid-order
        results.append(result)
        log.info("alpaca: %s %s %g %s → %s", order.side, order.symbol, order.qty, order.client_order_id, result.status)
    return results


@hookimpl
def broker_account(context: BrokerContext) -> Account:
    client = AlpacaTrading.from_context(context)
    acct = client.get("/v2/account")
    positions = {}
    for p in client.get("/v2/positions") or []:
        qty = _float(p.get("qty"))
        if p.get("side") == "short" and qty > 0:
            qty = -qty
        positions[str(p["symbol"])] = Position(str(p["symbol"]), qty, _float(p.get("avg_entry_price")))
    return Account(
        equity=_float(acct.get("equity")),
        cash=_float(acct.get("cash")),
        buying_power=_float(acct.get("buying_power")),
        positions=positions,
    )


@hookimpl
def broker_orders(client_order_ids: Sequence[str], context: BrokerContext) -> list[OrderResult]:
    client = AlpacaTrading.from_context(context)
    if not client_order_ids:
        return [order_result(o) for o in client.open_orders()]
    out = []
    for coid in client_order_ids:
        found = client.order_by_client_id(coid)
        if found is not None:
            out.append(order_result(found))
    return out


def fill_reason(order: Mapping[str, Any]) -> str:
    """``take_profit`` / ``stop`` for an order of a protective exit, "" otherwise."""
    kind, klass = str(order.get("type", "")), str(order.get("order_class", "") or "simple")
    if klass in ("oco", "bracket") and kind == "limit":
        return "take_profit"
    if kind in ("stop", "stop_limit", "trailing_stop") and order.get("side") == "sell":
        return "stop"
    return ""


def _is_leg(order: Mapping[str, Any]) -> bool:
    """An OCO/bracket stop leg: its client order id is Alpaca's own, the group's is its parent's."""
    return str(order.get("order_class", "")) in ("oco", "bracket") and order.get("type") in ("stop", "stop_limit")


def _parent_client_id(client: AlpacaTrading, leg: Mapping[str, Any], since: datetime | None) -> str:
    """The client order id of the OCO whose leg this is (``GET /v2/orders?nested=true``), "" if not found."""
    after = None if since is None else since.astimezone(UTC).isoformat().replace("+00:00", "Z")
    for parent in client.list_orders("all", after=after, symbol=str(leg.get("symbol", ""))):
        if any(str(x.get("id")) == str(leg.get("id")) for x in parent.get("legs") or []):
            return str(parent.get("client_order_id", ""))
    return ""


@hookimpl
def broker_fills(since: datetime | None, context: BrokerContext) -> list[Fill]:
    client = AlpacaTrading.from_context(context)
    client_ids: dict[str, tuple[str, str]] = {}
    fills = []
    for act in client.fills(since):
        order_id = str(act.get("order_id", ""))
        if order_id and order_id not in client_ids:
            order = client.get(f"/v2/orders/{order_id}") or {}
            coid = str(order.get("client_order_id", ""))
            if _is_leg(order):  # the stop of an OCO exit: the fill belongs to the group (its parent's id)
                coid = _parent_client_id(client, order, since) or coid
            client_ids[order_id] = (coid, fill_reason(order))
        coid, reason = client_ids.get(order_id, ("", ""))
        fills.append(
            Fill(
                fill_id=str(act["id"]),
                client_order_id=coid,
                symbol=str(act["symbol"]),
                side=act["side"],
                qty=_float(act["qty"]),
                price=_float(act["price"]),
                commission=0.0,
                ts=_time(act.get("transaction_time")),
                reason=reason,
            )
        )
    return fills


@hookimpl
def cancel_open_orders(context: BrokerContext) -> list[OrderResult]:
    client = AlpacaTrading.from_context(context)
    before = {o["id"]: o for o in client.open_orders()}
    results = []
    for item in client.cancel_all():
        order = before.get(item.get("id"))
        if order is None:
            continue
        ok = int(item.get("status", 200)) in (200, 204)
        results.append(
            OrderResult(
                client_order_id=str(order.get("client_order_id", "")),
                status="canceled" if ok else "unknown",
                symbol=str(order.get("symbol", "")),
                side=order.get("side"),
                qty=_float(order.get("qty")),
                filled_qty=_float(order.get("filled_qty")),
                broker_order_id=str(order["id"]),
                message="" if ok else vendor_message(item.get("body")),
            )
        )
    return results


@hookimpl
def cancel_orders(client_order_ids: Sequence[str], context: BrokerContext) -> list[OrderResult]:
    client = AlpacaTrading.from_context(context)
    out = []
    for coid in client_order_ids:
        body = client.cancel(coid)
        if body is not None:
            out.append(order_result(body))
    return out
