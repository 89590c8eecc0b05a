"""The kit's pytest plugin (entry point ``pytest11: regimeflex``).

Owns the fixtures a plugin author's tests may want beside the contract
classes: the shipped real panel and a causal signal frame for sizers. It is
loaded in every pytest session of an environment where RegimeFlex is
installed, so it imports nothing heavy until a fixture is used.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def regimeflex_bars() -> Any:
    """A fresh copy of the kit's real Bars panel (AAPL, DHR, FTV, JPM, SPY, XOM, 2015-01-02 → 2016-12-30)."""
    from regimeflex.testing.sample import sample_bars

    return sample_bars()


@pytest.fixture
def regimeflex_signals(regimeflex_bars: Any) -> Any:
    """A causal signal frame aligned to ``regimeflex_bars`` (long, short and flat values)."""
    from regimeflex.testing.sample import sample_signals

    return sample_signals(regimeflex_bars)


def pytest_report_header(config: pytest.Config) -> str:
    from importlib import metadata

    try:
        version = metadata.version("regimeflex")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        version = "source"
    return f"regimeflex conformance kit: {version}"
