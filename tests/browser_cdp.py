"""A tiny headless-Chromium driver over the DevTools protocol, for the report browser tests.

Starts the Debian ``chromium`` with a fresh profile and no network chatter,
opens pages in a phone-sized viewport, and returns what a person would
notice: console errors and uncaught exceptions, text of marked elements, and
a screenshot. Uses ``websocket-client`` only (a test dependency).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websocket

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "headless Chromium is not installed: install it with `sudo apt-get install chromium` "
    "(Debian/Ubuntu) to run the report browser tests"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
)


def find_browser() -> str | None:
    override = os.environ.get("REGIMEFLEX_CHROMIUM")
    if override:
        return override
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_browser() -> str:
    """The browser to use; without one, fail under CI (``CI=true``) and skip elsewhere, saying how to install it."""
    binary = find_browser()
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {INSTALL_HINT}", pytrace=False)
        pytest.skip(INSTALL_HINT)
    return binary


@dataclass
class PageVisit:
    """What loading one page produced.

    ``layout``: ``viewport`` (innerWidth), ``scroll_width`` (the page's, > viewport means the body
    overflows sideways), ``chart_texts`` (SVG text elements) and ``min_chart_font`` (the smallest
    rendered size of chart text in CSS px: computed font size × the SVG's scale on screen).
    """

    errors: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    screenshot: bytes = b""
    layout: dict[str, Any] = field(default_factory=dict)


LAYOUT_JS = """JSON.stringify({
  viewport: window.innerWidth,
  scroll_width: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
  chart_texts: document.querySelectorAll('svg text').length,
  min_chart_font: [...document.querySelectorAll('svg text')]
    .filter(t => t.getClientRects().length > 0)
    .map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)
    .reduce((a, b) => Math.min(a, b), Infinity)
})"""


class Chromium:
    """One headless browser with one page; :meth:`visit` loads a file and inspects it."""

    def __init__(self, binary: str, width: int = 412, height: int = 915, timeout: float = 60.0) -> None:
        """A viewport of ``width`` × ``height`` CSS px; below 800 px wide it is a phone (touch, mobile viewport)."""
        self.timeout = timeout
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="regimeflex-chromium-")
        self.log = open(Path(self.profile) / "stderr.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self._ids = itertools.count(1)
        try:
            port = self._wait_for_port()
            self.ws = websocket.create_connection(self._page_socket(port), timeout=timeout, suppress_origin=True)
            self.call("Page.enable")
            self.call("Runtime.enable")
            self.call("Log.enable")
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 800},
            )
        except BaseException:
            self.close()
            raise

    def _wait_for_port(self) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {self._stderr_tail()}")
            if marker.is_file():
                first = marker.read_text().splitlines()[:1]
                if first and first[0].isdigit():
                    return int(first[0])
            time.sleep(0.05)
        raise RuntimeError(f"chromium did not open its DevTools port within {self.timeout:g}s")

    def _page_socket(self, port: int) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
                targets = json.load(resp)
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.05)
        raise RuntimeError("chromium has no page target")

    def _stderr_tail(self) -> str:
        self.log.flush()
        return (Path(self.profile) / "stderr.log").read_text(errors="replace")[-500:]

    def call(
        self, method: str, params: dict[str, Any] | None = None, events: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Send one command and wait for its answer; events seen meanwhile go to ``events``."""
        ident = next(self._ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if events is not None and "method" in message:
                events.append(message)

    def visit(self, path: Path, selectors: tuple[str, ...] = ("[data-key]", "[data-metric]")) -> PageVisit:
        events: list[dict[str, Any]] = []
        self.call("Page.navigate", {"url": path.resolve().as_uri()}, events)
        deadline = time.monotonic() + self.timeout
        while not any(e["method"] == "Page.loadEventFired" for e in events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path.name} did not finish loading within {self.timeout:g}s")
            events.append(json.loads(self.ws.recv()))
        query = (
            "JSON.stringify(Object.fromEntries([...document.querySelectorAll({})].map(e => "
            "[e.dataset.key || 'metric:' + e.dataset.metric, e.textContent.trim()])))"
        ).format(json.dumps(", ".join(selectors)))
        result = self.call("Runtime.evaluate", {"expression": query, "returnByValue": True}, events)
        layout = self.call("Runtime.evaluate", {"expression": LAYOUT_JS, "returnByValue": True}, events)
        # the whole page (up to 8,000 px tall), at the viewport's width
        size = self.call("Page.getLayoutMetrics", {}, events)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": self.width, "height": min(float(size["height"]), 8000.0), "scale": 1}
        shot = self.call(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}, events
        )
        return PageVisit(
            errors=_errors(events),
            texts=json.loads(result["result"]["value"]),
            screenshot=base64.b64decode(shot["data"]),
            layout=json.loads(layout["result"]["value"]),
        )

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            found.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            found.append(params["entry"].get("text", "error"))
    return found
