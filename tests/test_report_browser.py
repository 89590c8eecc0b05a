"""Each report opened in real headless Chromium (phone viewport): no console errors, key numbers
in the DOM, a screenshot that is not blank.

`make test` installs Chromium when it is missing; under CI (``CI=true``) a missing browser fails these tests,
run outside both (a bare `pytest`) they skip and say how to install it.
Set ``REGIMEFLEX_SCREENSHOT_DIR`` to keep the screenshots.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_cdp import Chromium, PageVisit, require_browser
from PIL import Image
from report_inputs import daily_data, portfolio, tearsheet_data

from regimeflex.report import metrics
from regimeflex.report.daily import write_daily_report
from regimeflex.report.tearsheet import write_tearsheet

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    chromium = Chromium(require_browser())
    yield chromium
    chromium.close()


def keep_screenshot(name: str, png: bytes) -> None:
    target = os.environ.get("REGIMEFLEX_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(png)


def ink(png: bytes) -> tuple[float, int]:
    """Share of pixels that differ from the dominant (background) colour, and the number of colours."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    background = max(count for count, _ in colours)
    return 1.0 - background / (image.width * image.height), len(colours)


@pytest.fixture(scope="module")
def daily_visit(browser: Chromium, tmp_path_factory: pytest.TempPathFactory) -> PageVisit:
    path = write_daily_report(daily_data(), tmp_path_factory.mktemp("daily"))
    visit = browser.visit(path)
    keep_screenshot("daily.png", visit.screenshot)
    return visit


@pytest.fixture(scope="module")
def tearsheet_visit(browser: Chromium, tmp_path_factory: pytest.TempPathFactory) -> PageVisit:
    path = write_tearsheet(tearsheet_data(), tmp_path_factory.mktemp("tearsheet") / "tearsheet.html")
    visit = browser.visit(path)
    keep_screenshot("tearsheet.png", visit.screenshot)
    return visit


def test_daily_report_has_no_console_errors(daily_visit: PageVisit) -> None:
    assert daily_visit.errors == []


def test_daily_report_key_numbers_are_in_the_dom(daily_visit: PageVisit) -> None:
    data = daily_data()
    assert daily_visit.texts["equity"] == f"${data.equity:,.2f}"
    assert daily_visit.texts["regime"] == "risk-on"
    assert daily_visit.texts["session"] == "2019-12-31"
    assert daily_visit.texts["order_count"] == "2 / 1"


def test_daily_report_screenshot_is_not_blank(daily_visit: PageVisit) -> None:
    share, colours = ink(daily_visit.screenshot)
    assert share > 0.03 and colours > 50


def test_tearsheet_has_no_console_errors(tearsheet_visit: PageVisit) -> None:
    assert tearsheet_visit.errors == []


def test_tearsheet_key_numbers_are_in_the_dom(tearsheet_visit: PageVisit) -> None:
    equity, _, _ = portfolio()
    returns = metrics.returns_from_equity(equity)
    assert tearsheet_visit.texts["metric:sharpe"] == f"{metrics.sharpe_ratio(returns):.2f}"
    assert tearsheet_visit.texts["metric:cagr"] == f"{metrics.cagr(returns) * 100:.2f}%"
    assert tearsheet_visit.texts["final_equity"] == f"${equity.iloc[-1]:,.2f}"


def test_tearsheet_screenshot_is_not_blank(tearsheet_visit: PageVisit) -> None:
    share, colours = ink(tearsheet_visit.screenshot)
    assert share > 0.03 and colours > 50


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
