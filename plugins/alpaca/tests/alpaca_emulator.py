"""A local, stateful Alpaca Trading API emulator for the broker tests.

A threaded HTTP server on 127.0.0.1 that keeps orders, positions, cash and
fill activities in memory and answers with bodies built from the real
response samples in ``fixtures/`` (same keys, same value formats). It
enforces what matters for crash safety — a ``client_order_id`` is unique
(422 "client_order_id must be unique" on reuse), keys are checked, buying
power is checked (403), an OCO exit (``order_class: "oco"``) is a take-profit
parent with its stop as the one leg (``legs``, served with ``nested=true``; a
fill of one leg cancels the other; malformed OCO requests get a 422) — and can
inject faults per request: an HTTP status
(with or without having processed the request first), a delay longer than
the client's timeout, a dropped connection. It runs in the test process, so
a subprocess under test (SIGKILLed mid-cycle) talks to the same state.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


ORDER_TEMPLATE = fixture("orders_post_market.json")
#: an OCO exit as Alpaca answers it: the take-profit parent with the stop in ``legs`` (order_post_oco.json)
OCO_TEMPLATE = fixture("order_post_oco.json")
OCO_INVALID = fixture("error_422_oco_invalid.json")
ACCOUNT_TEMPLATE = fixture("account.json")
POSITION_TEMPLATE = fixture("positions.json")[0]
ACTIVITY_TEMPLATE = fixture("activity_fill.json")
NOT_FOUND = fixture("orders_delete_all_207.json")[1]["body"]
OPEN = ("new", "accepted", "partially_filled")
#: Alpaca's answer to a sell of shares an open order already holds (error_403_insufficient_qty.json)
INSUFFICIENT_QTY = fixture("error_403_insufficient_qty.json")


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method path`` with ``status``/``body``.

    ``process`` first handles the request normally (the order is placed) and only then
    answers with the fault — what a gateway error after the fact looks like. ``delay``
    sleeps before answering (longer than the client timeout = a timeout). ``drop``
    closes the connection without an answer.
    """

    method: str
    path: str
    status: int = 500
    body: Any = None
    times: int = 1
    process: bool = False
    delay: float = 0.0
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class AlpacaEmulator:
    def __init__(
        self,
        *,
        key: str,
        secret: str,
        prices: dict[str, float],
        cash: float = 100_000.0,
        positions: dict[str, float] | None = None,
    ) -> None:
        self.key, self.secret = key, secret
        self.prices = dict(prices)
        self.cash = cash
        self.positions: dict[str, dict[str, float]] = {
            s: {"qty": q, "avg": prices.get(s, 100.0)} for s, q in (positions or {}).items()
        }
        self.orders: dict[str, dict[str, Any]] = {}
        self.by_client_id: dict[str, str] = {}
        self.activities: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.queries: list[dict[str, str]] = []  # each request's query parameters, with its path
        self.duplicate_posts = 0
        self.rejected_sells = 0  # sells refused because a resting stop held the shares
        self.rejected_oco = 0  # malformed OCO requests answered with 422
        #: single-order GETs honour ``nested=true`` (False: legs only in the nested order list, as documented)
        self.nest_single_gets = True
        self.fill_mode = "immediate"  # immediate | partial | none
        self.reject_symbols: set[str] = set()
        self._lock = threading.RLock()
        self._clock = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ server
    def start(self) -> str:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one round trip per request, not a delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                emulator._dispatch(self, "GET")

            def do_POST(self) -> None:
                emulator._dispatch(self, "POST")

            def do_DELETE(self) -> None:
                emulator._dispatch(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def inject(self, fault: Fault) -> None:
        self.faults.append(fault)

    # ------------------------------------------------------------ views
    def position_qty(self) -> dict[str, float]:
        return {s: p["qty"] for s, p in sorted(self.positions.items()) if p["qty"]}

    def posts(self) -> int:
        return sum(1 for m, p in self.requests if m == "POST" and p == "/v2/orders")

    def client_ids(self) -> list[str]:
        return [o["client_order_id"] for o in self.orders.values()]

    # ------------------------------------------------------------ plumbing
    def _dispatch(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(h.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append((method, url.path))
            self.queries.append({"path": url.path, **query})
            fault = next(
                (f for f in self.faults if f.times > 0 and f.method == method and url.path.startswith(f.path)), None
            )
            if fault is not None:
                fault.times -= 1
        if h.headers.get("APCA-API-KEY-ID") != self.key or h.headers.get("APCA-API-SECRET-KEY") != self.secret:
            return self._send(h, 401, fixture("error_401_not_authorized.json"))
        if fault is not None and not fault.process:
            return self._fault(h, fault)
        with self._lock:
            status, body, headers = self._route(method, url.path, query, raw)
        if fault is not None:
            return self._fault(h, fault)
        self._send(h, status, body, headers)

    def _fault(self, h: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.delay:
            threading.Event().wait(fault.delay)
        if fault.drop:
            h.close_connection = True
            h.connection.close()
            return
        body = fault.body if fault.body is not None else {"code": 50010000, "message": "internal server error"}
        self._send(h, fault.status, body, fault.headers)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    # ------------------------------------------------------------ routes
    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any, dict]:
        if method == "GET" and path == "/v2/clock":
            return 200, fixture("clock.json"), {}
        if method == "GET" and path == "/v2/account":
            return 200, self._account(), {}
        if method == "GET" and path == "/v2/positions":
            return 200, [self._position(s) for s in sorted(self.positions) if self.positions[s]["qty"]], {}
        if method == "POST" and path == "/v2/orders":
            return self._post_order(json.loads(raw or b"{}"))
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            oid = self.by_client_id.get(query.get("client_order_id", ""))
            nested = query.get("nested") == "true" and self.nest_single_gets
            return (200, self._order_body(self.orders[oid], nested=nested), {}) if oid else (404, NOT_FOUND, {})
        if method == "DELETE" and path.startswith("/v2/orders/"):
            return self._cancel_one(path.rsplit("/", 1)[1])
        if method == "GET" and path.startswith("/v2/orders/"):
            order = self.orders.get(path.rsplit("/", 1)[1])
            nested = query.get("nested") == "true" and self.nest_single_gets
            return (200, self._order_body(order, nested=nested), {}) if order else (404, NOT_FOUND, {})
        if method == "GET" and path == "/v2/orders":
            return 200, self._list_orders(query), {}
        if method == "DELETE" and path == "/v2/orders":
            return self._cancel_all()
        if method == "GET" and path == "/v1/corporate-actions":
            return 200, self._corporate_actions(query), {}
        if method == "GET" and path == "/v2/account/activities/FILL":
            return 200, self._list_fills(query), {}
        return 404, {"code": 40410000, "message": "endpoint not found"}, {}

    def _corporate_actions(self, query: dict[str, str]) -> dict[str, Any]:
        """``GET /v1/corporate-actions`` from the real body in fixtures: filtered by ``symbols`` and ``types``
        and cut into pages of ``limit`` actions; the first page's ``next_page_token`` is the body's own."""
        body = fixture("corporate_actions.json")
        symbols = set(filter(None, query.get("symbols", "").split(",")))
        types = {f"{t}s" for t in filter(None, query.get("types", "").split(","))}
        items = [
            (group, row)
            for group, rows in body["corporate_actions"].items()
            if not types or group in types
            for row in rows
            if not symbols or row.get("symbol") in symbols
        ]
        page = int(query["page_token"].rsplit(":", 1)[1]) if query.get("page_token", "").startswith("page:") else 0
        if query.get("page_token") == body["next_page_token"]:
            page = 1
        limit = int(query.get("limit") or 1000)
        chunk = items[page * limit : (page + 1) * limit]
        groups: dict[str, list[Any]] = {}
        for group, row in chunk:
            groups.setdefault(group, []).append(row)
        more = (page + 1) * limit < len(items)
        token = None if not more else body["next_page_token"] if page == 0 else f"page:{page + 1}"
        return {"corporate_actions": groups, "next_page_token": token}

    def _now(self) -> str:
        # strictly increasing timestamps, so paging by time is deterministic
        tick = next(self._clock)
        base = datetime.now(UTC).replace(microsecond=0)
        return base.strftime("%Y-%m-%dT%H:%M:%S") + f".{tick:06d}Z"

    def _post_order(self, req: dict[str, Any]) -> tuple[int, Any, dict]:
        coid = req.get("client_order_id") or str(uuid.uuid4())
        if coid in self.by_client_id:
            self.duplicate_posts += 1
            return 422, fixture("error_422_duplicate_client_order_id.json"), {}
        qty = float(req["qty"])
        oco = req.get("order_class") == "oco"
        if oco and (problem := _oco_problem(req)):
            self.rejected_oco += 1
            return 422, {**OCO_INVALID, "message": problem}, {}
        if req.get("type") == "limit" and not qty.is_integer():
            return 422, fixture("error_422_qty_must_be_integer.json"), {}
        symbol = req["symbol"]
        price = float(req.get("limit_price") or self.prices[symbol])
        if req["side"] == "buy" and qty * price > self.cash + 1e-9:
            return 403, fixture("error_403_insufficient_buying_power.json"), {}
        if req["side"] == "sell":  # shares held by open sell orders (a resting stop) are not available
            held = self.positions.get(symbol, {}).get("qty", 0.0)
            reserved = sum(
                o["qty"] - o["filled_qty"]
                for o in self.orders.values()
                if o["symbol"] == symbol and o["side"] == "sell" and o["status"] in OPEN and not o.get("parent")
            )
            if qty > held - reserved + 1e-9:
                self.rejected_sells += 1
                body = {
                    **INSUFFICIENT_QTY,
                    "symbol": symbol,
                    "available": _dec(held - reserved),
                    "existing_qty": _dec(held),
                    "held_for_orders": _dec(reserved),
                    "message": f"insufficient qty available for order (requested: {_dec(qty)}, "
                    f"available: {_dec(held - reserved)})",
                }
                return 403, body, {}
        now = self._now()
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": coid,
            "symbol": symbol,
            "qty": qty,
            "side": req["side"],
            "type": req.get("type", "market"),
            "time_in_force": req["time_in_force"],
            "limit_price": req.get("limit_price"),
            "status": "accepted",
            "filled_qty": 0.0,
            "filled_avg_price": None,
            "created_at": now,
            "submitted_at": now,
            "updated_at": now,
            "filled_at": None,
            "canceled_at": None,
            "stop_price": req.get("stop_price"),
            "trail_price": req.get("trail_price"),
            "hwm": None,
            "order_class": "oco" if oco else "simple",
            "legs": [],
            "parent": None,
        }
        if order["type"] == "trailing_stop":  # the stop trails the high-water mark since placement
            order["hwm"] = self.prices[symbol]
            order["stop_price"] = _dec(self.prices[symbol] - float(req["trail_price"]))
        self.orders[order["id"]] = order
        self.by_client_id[coid] = order["id"]
        if symbol in self.reject_symbols:
            order["status"] = "rejected"
            return 200, self._order_body(order), {}
        if oco:  # the take-profit rests as the parent, the stop as its held leg; either fill cancels the other
            leg = {
                **order,
                "id": str(uuid.uuid4()),
                "client_order_id": str(uuid.uuid4()),
                "type": "stop_limit" if req["stop_loss"].get("limit_price") else "stop",
                "limit_price": req["stop_loss"].get("limit_price"),
                "stop_price": req["stop_loss"]["stop_price"],
                "status": "held",
                "legs": [],
                "parent": order["id"],
            }
            order["limit_price"] = req["take_profit"]["limit_price"]
            order["status"] = "new"
            order["legs"] = [leg["id"]]
            self.orders[leg["id"]] = leg
            self.by_client_id[leg["client_order_id"]] = leg["id"]
            return 200, self._order_body(order, nested=True), {}
        answer = self._order_body(order)  # the POST answers with the order as accepted; fills follow
        if order["type"] in ("stop", "trailing_stop"):
            order["status"] = "new"  # rests until the price reaches it (move_price)
            return 200, self._order_body(order), {}
        if self.fill_mode == "immediate":
            self._fill(order, qty)
        elif self.fill_mode == "partial":
            self._fill(order, math.floor(qty / 2) or qty)
        return 200, answer, {}

    def move_price(self, symbol: str, price: float) -> None:
        """The market trades at ``price``: trailing stops ratchet on a new high, stops at or above it fill there."""
        with self._lock:
            self.prices[symbol] = price
            for order in list(self.orders.values()):
                if order["symbol"] == symbol and order["status"] in OPEN and order["order_class"] == "oco":
                    self._trigger_oco(order, price)
                    continue
                if (
                    order["symbol"] != symbol
                    or order["status"] not in OPEN
                    or order["type"] not in ("stop", "trailing_stop")
                ):
                    continue
                if order["type"] == "trailing_stop" and price > float(order["hwm"]):
                    order["hwm"] = price
                    order["stop_price"] = _dec(price - float(order["trail_price"]))
                if price <= float(order["stop_price"]):
                    self._fill(order, order["qty"] - order["filled_qty"])

    def _trigger_oco(self, parent: dict[str, Any], price: float) -> None:
        """The take-profit fills at or above its limit, the stop leg at or below its stop; the other is canceled."""
        leg = self.orders[parent["legs"][0]]
        if price >= float(parent["limit_price"]):
            self._fill(parent, parent["qty"] - parent["filled_qty"])
            if parent["status"] == "filled":
                self._cancel(leg)
        elif price <= float(leg["stop_price"]):
            leg["status"] = "accepted"  # triggered: the held leg becomes a working order and fills
            self._fill(leg, leg["qty"] - leg["filled_qty"])
            self._cancel(parent)

    def _cancel(self, order: dict[str, Any]) -> None:
        order["status"] = "canceled"
        order["canceled_at"] = order["updated_at"] = self._now()
        for leg_id in order.get("legs") or []:  # canceling an OCO cancels its open leg too
            if self.orders[leg_id]["status"] in (*OPEN, "held"):
                self._cancel(self.orders[leg_id])

    def _cancel_one(self, order_id: str) -> tuple[int, Any, dict]:
        order = self.orders.get(order_id)
        if order is None:
            return 404, NOT_FOUND, {}
        if order["status"] not in OPEN:
            return 422, {"code": 42210000, "message": f'order is already in "{order["status"]}" state'}, {}
        self._cancel(order)
        return 204, "", {}

    def fill_remaining(self) -> None:
        """Complete every open order (e.g. partial fills finishing later in the day)."""
        with self._lock:
            for order in self.orders.values():
                if order["status"] in OPEN and order["order_class"] != "oco":
                    self._fill(order, order["qty"] - order["filled_qty"])

    def _fill(self, order: dict[str, Any], qty: float) -> None:
        if qty <= 0:
            return
        price = float(self.prices[order["symbol"]])
        sign = 1 if order["side"] == "buy" else -1
        pos = self.positions.setdefault(order["symbol"], {"qty": 0.0, "avg": price})
        if pos["qty"] == 0 or (pos["qty"] > 0) == (sign > 0):
            pos["avg"] = (abs(pos["qty"]) * pos["avg"] + qty * price) / (abs(pos["qty"]) + qty)
        pos["qty"] = round(pos["qty"] + sign * qty, 9)
        self.cash -= sign * qty * price
        done = order["filled_qty"] + qty
        order["filled_avg_price"] = ((order["filled_avg_price"] or 0) * order["filled_qty"] + price * qty) / done
        order["filled_qty"] = done
        now = self._now()
        order["status"] = "filled" if done >= order["qty"] else "partially_filled"
        order["updated_at"] = now
        if order["status"] == "filled":
            order["filled_at"] = now
        activity = copy.deepcopy(ACTIVITY_TEMPLATE)
        activity.update(
            {
                "id": f"{now[:4]}{now[5:7]}{now[8:10]}{now[11:13]}{now[14:16]}{now[17:19]}{now[20:23]}::{uuid.uuid4()}",
                "transaction_time": now,
                "type": "fill" if order["status"] == "filled" else "partial_fill",
                "price": _dec(price),
                "qty": _dec(qty),
                "side": order["side"],
                "symbol": order["symbol"],
                "leaves_qty": _dec(order["qty"] - done),
                "order_id": order["id"],
                "cum_qty": _dec(done),
                "order_status": order["status"],
            }
        )
        self.activities.append(activity)

    def _list_orders(self, query: dict[str, str]) -> list[dict[str, Any]]:
        status = query.get("status", "open")
        nested = query.get("nested") == "true"
        rows = sorted(self.orders.values(), key=lambda o: (o["created_at"], bool(o.get("parent"))))
        if nested:  # an OCO's leg is listed under its parent only
            rows = [o for o in rows if not o.get("parent")]
        if query.get("symbols"):
            rows = [o for o in rows if o["symbol"] in query["symbols"].split(",")]
        if status == "open":
            rows = [o for o in rows if o["status"] in (*OPEN, "held")]
        elif status == "closed":
            rows = [o for o in rows if o["status"] not in (*OPEN, "held")]
        if query.get("after"):
            rows = [o for o in rows if o["created_at"] > query["after"]]
        if query.get("direction", "desc") == "desc":
            rows.reverse()
        return [self._order_body(o, nested=nested) for o in rows[: int(query.get("limit", 50))]]

    def _list_fills(self, query: dict[str, str]) -> list[dict[str, Any]]:
        rows = list(self.activities)
        if query.get("after"):
            after = query["after"]
            rows = [a for a in rows if a["transaction_time"] > after]
        if query.get("page_token"):
            ids = [a["id"] for a in rows]
            token = query["page_token"]
            rows = rows[ids.index(token) + 1 :] if token in ids else rows
        return rows[: int(query.get("page_size", 100))]

    def _cancel_all(self) -> tuple[int, Any, dict]:
        out = []
        for order in self.orders.values():
            if order["status"] in OPEN:
                self._cancel(order)
                out.append({"id": order["id"], "status": 200})
        return 207, out, {}

    # ------------------------------------------------------------ bodies
    def _order_body(self, order: dict[str, Any], nested: bool = False) -> dict[str, Any]:
        """The order as Alpaca shows it; an OCO parent's leg under ``legs`` when ``nested`` (and in the POST answer)."""
        oco = order.get("order_class") == "oco"
        body = copy.deepcopy(OCO_TEMPLATE if oco else ORDER_TEMPLATE)
        if oco:
            body["legs"] = (
                [self._order_body(self.orders[i]) for i in order["legs"]] if nested and order["legs"] else None
            )
        body.update(
            {
                "id": order["id"],
                "client_order_id": order["client_order_id"],
                "symbol": order["symbol"],
                "created_at": order["created_at"],
                "updated_at": order["updated_at"],
                "submitted_at": order["submitted_at"],
                "filled_at": order["filled_at"],
                "canceled_at": order["canceled_at"],
                "qty": _dec(order["qty"]),
                "filled_qty": _dec(order["filled_qty"]),
                "filled_avg_price": None if order["filled_avg_price"] is None else _dec(order["filled_avg_price"]),
                "order_type": order["type"],
                "type": order["type"],
                "side": order["side"],
                "time_in_force": order["time_in_force"],
                "limit_price": order["limit_price"],
                "stop_price": order.get("stop_price"),
                "trail_price": order.get("trail_price"),
                "hwm": None if order.get("hwm") is None else _dec(order["hwm"]),
                "status": order["status"],
                "position_intent": "buy_to_open" if order["side"] == "buy" else "sell_to_close",
            }
        )
        if oco:
            body["order_class"] = "oco"
        return body

    def _account(self) -> dict[str, Any]:
        body = copy.deepcopy(ACCOUNT_TEMPLATE)
        market = sum(p["qty"] * self.prices.get(s, p["avg"]) for s, p in self.positions.items())
        equity = self.cash + market
        body.update(
            {
                "cash": _dec(self.cash),
                "equity": _dec(equity),
                "portfolio_value": _dec(equity),
                "buying_power": _dec(max(self.cash, 0.0)),
                "long_market_value": _dec(market),
            }
        )
        return body

    def _position(self, symbol: str) -> dict[str, Any]:
        p = self.positions[symbol]
        price = self.prices.get(symbol, p["avg"])
        body = copy.deepcopy(POSITION_TEMPLATE)
        body.update(
            {
                "symbol": symbol,
                "qty": _dec(p["qty"]),
                "avg_entry_price": _dec(p["avg"]),
                "side": "long" if p["qty"] > 0 else "short",
                "market_value": _dec(p["qty"] * price),
                "current_price": _dec(price),
            }
        )
        return body


def _oco_problem(req: dict[str, Any]) -> str:
    """Why Alpaca refuses this OCO request ("" if it takes it): an exit of type limit with
    ``take_profit.limit_price`` and ``stop_loss.stop_price`` (a plain stop or stop-limit leg; no trailing
    leg), the stop below the take-profit for a sell, time_in_force day or gtc, no extended hours."""
    tp, sl = req.get("take_profit") or {}, req.get("stop_loss") or {}
    if req.get("type") != "limit":
        return "oco orders must be limit orders (the take-profit leg)"
    if not tp.get("limit_price") or not sl.get("stop_price"):
        return "oco orders require take_profit.limit_price and stop_loss.stop_price"
    if sl.get("trail_price") or sl.get("trail_percent"):
        return "trailing stop is not supported as the stop_loss leg of an oco order"
    if req.get("time_in_force") not in ("day", "gtc") or req.get("extended_hours"):
        return "oco orders require time_in_force day or gtc and no extended_hours"
    if req.get("side") == "sell" and float(sl["stop_price"]) >= float(tp["limit_price"]) - 0.01 + 1e-9:
        return "stop_loss.stop_price must be at least 0.01 below take_profit.limit_price"
    return ""


def _dec(value: float) -> str:
    """Alpaca's decimal strings: no exponent, no trailing zeros."""
    text = f"{float(value):.9f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
