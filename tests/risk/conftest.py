"""The risk tests use the same real-data fixtures as the signal tests."""

from signals.conftest import load_spy, load_vix, panel, spy_bars, vix_close  # noqa: F401
