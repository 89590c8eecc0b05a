"""Each report opened in real headless Chromium at phone (390 px) and desktop (1280 px) width: no console
errors, no sideways overflow of the page, key numbers in the DOM, chart text rendered at >= 10 px, a
screenshot that is not blank.

`make test` installs Chromium when it is missing; under CI (``CI=true``) a missing browser fails these tests,
run outside both (a bare `pytest`) they skip and say how to install it.
The full-page screenshots are kept as test artefacts in ``tests/.artifacts/screenshots/`` (or
``$REGIMEFLEX_SCREENSHOT_DIR``), named ``<page>-<width>.png``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_cdp import Chromium, PageVisit, require_browser
from PIL import Image
from report_inputs import TREND, daily_data, portfolio, real_backtest, real_tearsheet_data, stocks100, tearsheet_data

from regimeflex.report import metrics
from regimeflex.report.daily import write_daily_report
from regimeflex.report.symbol import SymbolPageData, write_symbol_page
from regimeflex.report.tearsheet import computed_metrics, write_tearsheet

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)
ARTIFACTS = Path(__file__).parent / ".artifacts" / "screenshots"
MIN_CHART_PX = 10.0


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda w: f"{w}px")
def browser(request: pytest.FixtureRequest) -> Iterator[Chromium]:
    chromium = Chromium(require_browser(), width=request.param, height=900)
    yield chromium
    chromium.close()


def keep_screenshot(name: str, png: bytes) -> Path:
    target = Path(os.environ.get("REGIMEFLEX_SCREENSHOT_DIR") or ARTIFACTS)
    target.mkdir(parents=True, exist_ok=True)
    (target / name).write_bytes(png)
    return target / name


def ink(png: bytes) -> tuple[float, int]:
    """Share of pixels that differ from the dominant (background) colour, and the number of colours."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    background = max(count for count, _ in colours)
    return 1.0 - background / (image.width * image.height), len(colours)


def symbol_data() -> SymbolPageData:
    """AAPL in the real 100-symbol backtest: its closes, the trend rule's SMA 20/50, its fills and shares held."""
    from regimeflex.builtins.trend import trend_lines
    from regimeflex.types import make_bars

    result = real_backtest()
    px = stocks100()[["AAPL"]]
    bars = make_bars({f: px for f in ("open", "high", "low", "close")} | {"volume": px * 0 + 1e6})
    lines = {name: frame["AAPL"] for name, frame in trend_lines(bars, TREND).items()}
    start = result.equity.index[0]
    return SymbolPageData(
        symbol="AAPL",
        close=px["AAPL"][px.index >= start],
        lines=lines,
        fills=result.trades[result.trades["symbol"] == "AAPL"],
        position=result.positions["AAPL"],
        strategy="trend (crossover, fast 20, slow 50)",
    )


@pytest.fixture(scope="module")
def visits(browser: Chromium, tmp_path_factory: pytest.TempPathFactory) -> dict[str, PageVisit]:
    folder = tmp_path_factory.mktemp(f"pages-{browser.width}")
    pages = {
        "daily": write_daily_report(daily_data(), folder),
        "tearsheet": write_tearsheet(real_tearsheet_data(), folder / "tearsheet.html"),
        "tearsheet-small": write_tearsheet(tearsheet_data(), folder / "small.html"),
        "symbol": write_symbol_page(symbol_data(), folder / "AAPL.html"),
    }
    out = {}
    for name, path in pages.items():
        visit = browser.visit(path)
        keep_screenshot(f"{name}-{browser.width}.png", visit.screenshot)
        out[name] = visit
    return out


PAGES = ("daily", "tearsheet", "tearsheet-small", "symbol")


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_console_errors(visits: dict[str, PageVisit], page: str) -> None:
    assert visits[page].errors == []


@pytest.mark.parametrize("page", PAGES)
def test_page_body_does_not_overflow_sideways(visits: dict[str, PageVisit], page: str) -> None:
    layout = visits[page].layout
    assert layout["scroll_width"] <= layout["viewport"], layout


@pytest.mark.parametrize("page", PAGES)
def test_chart_text_renders_at_ten_px_or_more(visits: dict[str, PageVisit], page: str) -> None:
    layout = visits[page].layout
    assert layout["chart_texts"] > 10
    assert layout["min_chart_font"] >= MIN_CHART_PX, layout


@pytest.mark.parametrize("page", PAGES)
def test_screenshot_is_not_blank(visits: dict[str, PageVisit], page: str) -> None:
    share, colours = ink(visits[page].screenshot)
    assert share > 0.03 and colours > 50


def test_daily_report_key_numbers_are_in_the_dom(visits: dict[str, PageVisit]) -> None:
    data, texts = daily_data(), visits["daily"].texts
    assert texts["equity"] == f"${data.equity:,.2f}"
    assert texts["regime"] == "risk-on"
    assert texts["session"] == "2019-12-31"
    assert texts["order_count"] == "2 / 1"
    assert texts["ledger_head"] == data.ledger_anchor["head"]


def test_tearsheet_key_numbers_are_in_the_dom(visits: dict[str, PageVisit]) -> None:
    data = real_tearsheet_data()
    ours, _ = computed_metrics(data)
    texts = visits["tearsheet"].texts
    assert texts["metric:sharpe"] == f"{ours['sharpe']:.2f}"
    assert texts["metric:beta"] == f"{ours['beta']:.2f}"
    assert texts["metric:alpha"] == f"{ours['alpha'] * 100:.2f}%"
    assert texts["metric:var_95"] == f"{ours['var_95'] * 100:.2f}%"
    assert texts["final_equity"] == f"${data.equity.iloc[-1]:,.2f}"


def test_small_tearsheet_key_numbers_are_in_the_dom(visits: dict[str, PageVisit]) -> None:
    equity, _, _ = portfolio()
    returns = metrics.returns_from_equity(equity)
    texts = visits["tearsheet-small"].texts
    assert texts["metric:sharpe"] == f"{metrics.sharpe_ratio(returns):.2f}"
    assert texts["metric:cagr"] == f"{metrics.cagr(returns) * 100:.2f}%"


def test_symbol_page_key_numbers_are_in_the_dom(visits: dict[str, PageVisit]) -> None:
    texts = visits["symbol"].texts
    data = symbol_data()
    assert texts["symbol"] == "AAPL"
    assert texts["fills"] == str(len(data.fills))
    assert texts["last_close"] == f"{data.close.iloc[-1]:,.2f}"


def test_screenshots_are_kept_as_artefacts(visits: dict[str, PageVisit], browser: Chromium) -> None:
    target = Path(os.environ.get("REGIMEFLEX_SCREENSHOT_DIR") or ARTIFACTS)
    for page in PAGES:
        assert (target / f"{page}-{browser.width}.png").stat().st_size > 1000


def test_browser_check_catches_console_errors(browser: Chromium, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><p>x</p><script>console.error('chart failed'); undefinedCall();</script>")
    errors = browser.visit(page).errors
    assert errors[0] == "chart failed"
    assert "undefinedCall is not defined" in errors[1]


def test_browser_check_catches_a_blank_page(browser: Chromium, tmp_path: Path) -> None:
    page = tmp_path / "blank.html"
    page.write_text("<!doctype html><html><body style='background:#fff'></body></html>")
    share, _ = ink(browser.visit(page).screenshot)
    assert share < 0.001


def test_browser_check_catches_sideways_overflow_and_tiny_chart_text(browser: Chromium, tmp_path: Path) -> None:
    page = tmp_path / "wide.html"
    page.write_text(
        "<!doctype html><meta name=viewport content='width=device-width'><body style='margin:0'>"
        "<div style='width:2000px'>x</div><svg viewBox='0 0 2000 100' style='width:100%'>"
        "<text x='0' y='50' font-size='11'>tiny</text></svg></body>"
    )
    layout = browser.visit(page).layout
    assert layout["scroll_width"] > layout["viewport"]
    assert layout["min_chart_font"] < MIN_CHART_PX


def test_missing_browser_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("REGIMEFLEX_CHROMIUM", raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception,
        match=r"^CI=true but headless Chromium is not installed: install it "
        r"with `sudo apt-get install chromium`",
    ):
        require_browser()


def test_missing_browser_skips_on_a_user_machine_saying_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("REGIMEFLEX_CHROMIUM", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception,
        match=r"^headless Chromium is not installed: install it with "
        r"`sudo apt-get install chromium` \(Debian/Ubuntu\) to run",
    ):
        require_browser()
