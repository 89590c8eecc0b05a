"""load_bars: cache first, incremental by XNYS sessions, atomic and locked writes, fallback, cleanup."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeflex import hookimpl
from regimeflex.builtins import synthetic
from regimeflex.config import load_settings
from regimeflex.data.cache import BarCache
from regimeflex.data.service import import_source, load_bars, validate_cache
from regimeflex.errors import DataError, ProviderError
from regimeflex.plugins import PluginHost
from regimeflex.types import BAR_FIELDS, BarsRequest, Level, check_bars

# 2024-06-07 is a Friday; 23:00 UTC is after the New York close.
FRI_EVENING = datetime(2024, 6, 7, 23, 0, tzinfo=UTC)
MON_EVENING = datetime(2024, 6, 10, 23, 0, tzinfo=UTC)
SAT = datetime(2024, 6, 8, 15, 0, tzinfo=UTC)
MON_MORNING = datetime(2024, 6, 10, 14, 0, tzinfo=UTC)  # 10:00 New York, session open


class FakeVendor:
    """A data plugin serving synthetic bars, recording each request; ``fail`` makes it raise."""

    def __init__(self, seed: int = 5) -> None:
        self.requests: list[BarsRequest] = []
        self.fail: Exception | None = None
        self.seed = seed
        self.tamper = None  # callable(bars) -> bars

    @hookimpl
    def provide_bars(self, request: BarsRequest):
        self.requests.append(request)
        if self.fail is not None:
            raise self.fail
        known = tuple(s for s in request.symbols if s != "NOPE")
        bars = synthetic.generate(known, request.start, request.end, synthetic.SyntheticSettings(seed=self.seed))
        return self.tamper(bars) if self.tamper else bars


def settings_for(project: Path, extra: str = "", provider: str = "fake"):
    (project / "data.yaml").write_text(f"provider: {provider}\nadjusted: true\n{extra}")
    return load_settings(project)


@pytest.fixture
def vendor() -> FakeVendor:
    return FakeVendor()


@pytest.fixture
def host(vendor: FakeVendor) -> PluginHost:
    return PluginHost.from_plugins({"fake": vendor})


@pytest.fixture
def settings(project: Path):
    return settings_for(project)


def expected(symbols, start, end, seed=5):
    return synthetic.generate(tuple(symbols), start, end, synthetic.SyntheticSettings(seed=seed))


def load(settings, host, symbols=("SPY", "QQQ"), start=date(2024, 1, 2), end=date(2024, 6, 7), now=FRI_EVENING, **kw):
    return load_bars(settings, host, symbols, start, end, now=now, **kw)


def test_first_load_asks_the_provider_once_and_writes_one_file_per_symbol(settings, host, vendor) -> None:
    bars, report = load(settings, host)
    assert len(vendor.requests) == 1 and vendor.requests[0].symbols == ("QQQ", "SPY")
    cache_dir = settings.path("data/cache/fake")
    assert sorted(p.name for p in cache_dir.glob("*.csv")) == ["QQQ.csv", "SPY.csv"]
    pd.testing.assert_frame_equal(check_bars(bars), expected(("QQQ", "SPY"), date(2024, 1, 2), date(2024, 6, 7)))
    assert report.symbols["SPY"].source == "provider"


def test_second_load_is_served_from_the_cache_without_a_provider_call(settings, host, vendor) -> None:
    first, _ = load(settings, host)
    second, report = load(settings, host)
    assert len(vendor.requests) == 1
    pd.testing.assert_frame_equal(first, second)
    assert report.symbols["SPY"].source == "cache" and report.provider_calls == 0


def test_next_session_fetches_only_the_new_session_plus_one_overlap(settings, host, vendor) -> None:
    load(settings, host)
    bars, report = load(settings, host, end=date(2024, 6, 10), now=MON_EVENING)
    assert [(r.start, r.end) for r in vendor.requests[1:]] == [(date(2024, 6, 7), date(2024, 6, 10))]
    assert bars.index[-1] == pd.Timestamp("2024-06-10")
    pd.testing.assert_frame_equal(bars, expected(("QQQ", "SPY"), date(2024, 1, 2), date(2024, 6, 10)))


def test_weekend_is_not_stale_so_nothing_is_fetched(settings, host, vendor) -> None:
    load(settings, host)
    _, report = load(settings, host, end=date(2024, 6, 9), now=SAT)
    assert len(vendor.requests) == 1 and report.stale == {}


def test_unfinished_session_is_never_requested(settings, host, vendor) -> None:
    load(settings, host)
    _, report = load(settings, host, end=date(2024, 6, 10), now=MON_MORNING)
    assert len(vendor.requests) == 1
    assert report.end == date(2024, 6, 7)


def test_earlier_start_fetches_only_the_older_sessions(settings, host, vendor) -> None:
    load(settings, host)
    bars, _ = load(settings, host, start=date(2023, 12, 1))
    assert [(r.start, r.end) for r in vendor.requests[1:]] == [(date(2023, 12, 1), date(2023, 12, 29))]
    pd.testing.assert_frame_equal(bars, expected(("QQQ", "SPY"), date(2023, 12, 1), date(2024, 6, 7)))


def test_new_symbol_is_fetched_alone(settings, host, vendor) -> None:
    load(settings, host)
    load(settings, host, symbols=("SPY", "QQQ", "IWM"))
    assert vendor.requests[1].symbols == ("IWM",)


def test_refresh_refetches_the_whole_range(settings, host, vendor) -> None:
    load(settings, host)
    load(settings, host, refresh=True)
    assert [(r.start, r.end) for r in vendor.requests] == [(date(2024, 1, 2), date(2024, 6, 7))] * 2


def test_changed_adjusted_history_refetches_the_symbol_whole(settings, host, vendor) -> None:
    load(settings, host, symbols=("SPY",))
    vendor.seed = 6  # the vendor's history changed (e.g. a split re-adjusted every past price)
    bars, _ = load(settings, host, symbols=("SPY",), end=date(2024, 6, 10), now=MON_EVENING)
    assert [(r.start, r.end) for r in vendor.requests[1:]] == [
        (date(2024, 6, 7), date(2024, 6, 10)),
        (date(2024, 1, 2), date(2024, 6, 10)),
    ]
    pd.testing.assert_frame_equal(bars, expected(("SPY",), date(2024, 1, 2), date(2024, 6, 10), seed=6))


def test_switching_adjusted_to_raw_refetches_everything(project: Path, host, vendor) -> None:
    load(settings_for(project), host)
    raw = settings_for(project).model_copy(
        update={"data": settings_for(project).data.model_copy(update={"adjusted": False})}
    )
    load(raw, host)
    assert len(vendor.requests) == 2 and vendor.requests[1].adjusted is False


def test_provider_failure_falls_back_to_cache_with_a_risk_event_saying_how_stale(settings, host, vendor) -> None:
    load(settings, host)
    vendor.fail = ProviderError("fake: GET /bars → HTTP 503: try later")
    bars, report = load(settings, host, end=date(2024, 6, 12), now=datetime(2024, 6, 12, 23, tzinfo=UTC))
    assert bars.index[-1] == pd.Timestamp("2024-06-07")
    assert report.stale == {"QQQ": 3, "SPY": 3}
    event = report.events[0]
    assert (event.kind, event.level) == ("data.stale", Level.RISK)
    assert event.body == (
        "fake failed: fake: GET /bars → HTTP 503: try later\n"
        "Using cached bars for 2 symbol(s); the oldest last bar is 2024-06-07, "
        "3 session(s) stale (wanted 2024-06-12)."
    )
    assert report.symbols["SPY"].source == "cache-fallback"


def test_provider_failure_with_an_empty_cache_is_a_data_error(settings, host, vendor) -> None:
    vendor.fail = ProviderError("fake: timed out after 10s")
    with pytest.raises(DataError) as err:
        load(settings, host)
    assert str(err.value) == (
        "data provider fake failed (fake: timed out after 10s) and the cache has no bars "
        "for QQQ, SPY; nothing to run on. Fix the provider (keys, network) and rerun."
    )


def test_plugin_crash_is_treated_as_a_provider_failure(settings, host, vendor) -> None:
    load(settings, host)
    vendor.fail = KeyError("results")
    _, report = load(settings, host, end=date(2024, 6, 10), now=MON_EVENING)
    assert report.events[0].kind == "data.stale"
    assert "raised in provide_bars: KeyError: 'results'" in report.provider_error


def test_rejected_rows_never_reach_the_cache(settings, host, vendor) -> None:
    def break_one_day(bars):
        bars = bars.copy()
        bars.loc["2024-03-05", ("high", "SPY")] = bars.loc["2024-03-05", ("low", "SPY")] / 2
        return bars

    vendor.tamper = break_one_day
    bars, report = load(settings, host)
    assert ("SPY", date(2024, 3, 5), "ohlc_inconsistent") in report.validation.keys()
    cached = pd.read_csv(settings.path("data/cache/fake/SPY.csv"))
    assert "2024-03-05" not in set(cached["date"]) and "2024-03-05" in set(
        pd.read_csv(settings.path("data/cache/fake/QQQ.csv"))["date"]
    )
    assert np.isnan(bars.loc["2024-03-05", ("close", "SPY")])
    assert report.events[-1].kind == "data.validation" and report.events[-1].level == Level.RISK


def test_provider_output_in_utc_with_lower_case_symbols_is_normalised(settings, host, vendor) -> None:
    def vendorish(bars):
        bars = bars.copy()
        bars.index = bars.index.tz_localize("America/New_York").tz_convert("UTC")
        bars.columns = pd.MultiIndex.from_tuples([(f, s.lower()) for f, s in bars.columns])
        return bars

    vendor.tamper = vendorish
    bars, _ = load(settings, host)
    pd.testing.assert_frame_equal(bars, expected(("QQQ", "SPY"), date(2024, 1, 2), date(2024, 6, 7)))


def test_unknown_symbol_is_an_all_nan_column_and_a_risk_event(settings, host) -> None:
    bars, report = load(settings, host, symbols=("SPY", "NOPE"))
    assert bars["close"]["NOPE"].isna().all()
    assert report.missing == ["NOPE"]
    assert report.events[-1].body == (
        "fake returned no bars for NOPE between 2024-01-02 and 2024-06-07; check the symbols in run.yaml: universe."
    )


def test_failing_provider_never_touches_another_providers_cache(project: Path, host, vendor) -> None:
    load(settings_for(project), host)
    before = {p.name: p.read_bytes() for p in (project.parent / "data/cache/fake").iterdir()}
    other = FakeVendor()
    other.fail = ProviderError("other: HTTP 500")
    with pytest.raises(DataError):
        load(settings_for(project, provider="other"), PluginHost.from_plugins({"other": other}))
    after = {p.name: p.read_bytes() for p in (project.parent / "data/cache/fake").iterdir()}
    assert before == after


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_binary_cache_formats_serve_the_same_bars(project: Path, host, vendor, fmt: str) -> None:
    settings = settings_for(project, f"cache:\n  format: {fmt}\n")
    load(settings, host)
    bars, _ = load(settings, host)
    assert len(vendor.requests) == 1 and settings.path(f"data/cache/fake/SPY.{fmt}").exists()
    pd.testing.assert_frame_equal(bars, expected(("QQQ", "SPY"), date(2024, 1, 2), date(2024, 6, 7)))


# ------------------------------------------------------------ atomic, locked


def test_crash_during_write_leaves_the_old_file_and_no_temp_file(settings, host, vendor, monkeypatch) -> None:
    load(settings, host)
    path = settings.path("data/cache/fake/SPY.csv")
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        BarCache(path.parent.parent, "fake").store(
            pd.DataFrame(
                {
                    "date": [pd.Timestamp("2024-06-10")],
                    "symbol": ["SPY"],
                    "open": [1.0],
                    "high": [1.0],
                    "low": [1.0],
                    "close": [1.0],
                    "volume": [1.0],
                }
            ),
            {},
        )
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_second_writer_waits_then_fails_with_a_clear_message(tmp_path: Path) -> None:
    first, second = BarCache(tmp_path, "fake"), BarCache(tmp_path, "fake", lock_timeout=0.2)
    with first.lock():
        with pytest.raises(DataError) as err:
            with second.lock():
                pass
    assert str(err.value) == (
        f"cache {tmp_path / 'fake'} is locked by pid {os.getpid()} for more than 0.2s; "
        f"wait for it to finish or raise data.yaml cache.lock_timeout"
    )


def test_lock_is_released_after_use(tmp_path: Path) -> None:
    cache = BarCache(tmp_path, "fake", lock_timeout=0.2)
    with cache.lock():
        pass
    with cache.lock():
        pass


def test_leftover_temp_file_from_a_crash_is_removed_by_the_next_writer(tmp_path: Path) -> None:
    cache = BarCache(tmp_path, "fake")
    (tmp_path / "fake").mkdir()
    stale = tmp_path / "fake" / ".SPY.csv.abc.tmp"
    stale.write_text("date,open\n2024-01-02,")
    with cache.lock():
        pass
    assert not stale.exists()


def test_damaged_manifest_means_refetch_not_failure(settings, host, vendor) -> None:
    load(settings, host)
    settings.path("data/cache/fake/_manifest.json").write_text("{not json")
    load(settings, host)
    assert len(vendor.requests) == 2


@pytest.mark.parametrize("fmt", ["csv", "parquet", "arrow"])
def test_unreadable_cache_file_is_fetched_again_with_a_risk_event(project: Path, host, vendor, fmt: str) -> None:
    settings = settings_for(project, f"cache:\n  format: {fmt}\n")
    load(settings, host)
    path = settings.path(f"data/cache/fake/SPY.{fmt}")
    path.write_bytes(path.read_bytes()[:200] if fmt != "csv" else b"date,open,high,low,close,volume\n2024-01-02,x\n")
    bars, report = load(settings, host)
    pd.testing.assert_frame_equal(bars, expected(["QQQ", "SPY"], date(2024, 1, 2), date(2024, 6, 7)), check_freq=False)
    event = next(e for e in report.events if e.kind == "data.damaged")
    assert event.level is Level.RISK and "SPY" in event.body and event.data["refetched"] == ["SPY"]
    assert vendor.requests[-1].symbols == ("SPY",)


def test_damaged_cache_file_is_held_when_the_provider_fails(settings, host, vendor) -> None:
    load(settings, host)
    path = settings.path("data/cache/fake/SPY.csv")
    path.write_text("date,open,high,low,close,volume\n2024-01-02,x,1,1,1,1\n")
    vendor.fail = ProviderError("vendor down")
    bars, report = load(settings, host)
    assert bars["close"]["SPY"].isna().all() and bars["close"]["QQQ"].notna().all()
    event = next(e for e in report.events if e.kind == "data.damaged")
    assert event.data["held"] == ["SPY"] and "Held (no bars used, not traded): SPY" in event.body
    assert report.symbols["SPY"].source == "held"


# ------------------------------------------------------------------ cleanup


def test_max_symbols_removes_the_least_recently_used(project: Path, host) -> None:
    settings = settings_for(project, "cache:\n  max_symbols: 2\n")
    load(settings, host, symbols=("AAA",), now=datetime(2024, 6, 5, 23, tzinfo=UTC), end=date(2024, 6, 5))
    load(settings, host, symbols=("BBB",), now=datetime(2024, 6, 6, 23, tzinfo=UTC), end=date(2024, 6, 6))
    _, report = load(settings, host, symbols=("CCC",))
    assert report.removed == ["AAA"]
    assert sorted(BarCache(settings.path("data/cache"), "fake").symbols()) == ["BBB", "CCC"]


def test_symbols_unused_for_too_long_are_removed(project: Path, host) -> None:
    settings = settings_for(project, "cache:\n  max_unused_days: 30\n")
    load(settings, host, symbols=("OLD",), now=datetime(2024, 3, 1, 23, tzinfo=UTC), end=date(2024, 3, 1))
    _, report = load(settings, host, symbols=("SPY",))
    assert report.removed == ["OLD"]


# ------------------------------------------------------------------- import


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    """The real 28-symbol panel imported once for this module's read-only tests."""
    data_dir = Path(__file__).resolve().parent.parent / "data"
    project = tmp_path_factory.mktemp("imported") / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", project)
    settings = settings_for(project)
    symbols, report = import_source(
        settings, data_dir / "all_stocks_5yr_subset.csv.gz", now=datetime(2024, 6, 7, 23, tzinfo=UTC), prices="adjusted"
    )
    return settings, symbols, report


def test_import_keeps_clean_rows_and_rejects_defective_ones(imported) -> None:
    settings, symbols, report = imported
    lnt = pd.read_csv(settings.path("data/cache/fake/LNT.csv"))
    assert "2016-05-19" not in set(lnt["date"]) and len(lnt) == 1258
    assert len(report.rejected) == 23 and len(symbols) == 28


def test_imported_history_is_served_without_asking_the_provider(imported, vendor, data_dir: Path) -> None:
    settings, _, _ = imported
    source = pd.read_csv(data_dir / "all_stocks_5yr_subset.csv.gz")
    lnt = source[(source["Name"] == "LNT") & source["date"].isin(["2016-05-16", "2016-05-17", "2016-05-18"])]
    vendor.fail = ProviderError("must not be called")
    bars, report = load_bars(
        settings,
        PluginHost.from_plugins({"fake": vendor}),
        ["AAPL", "LNT"],
        date(2016, 5, 16),
        date(2016, 5, 20),
        now=FRI_EVENING,
    )
    assert vendor.requests == [] and report.provider_calls == 0
    assert bars["close"]["LNT"].tolist()[:3] == lnt["close"].tolist()
    assert np.isnan(bars.loc["2016-05-19", ("close", "LNT")])


def test_validate_cache_reports_only_warnings_after_import(imported) -> None:
    settings, _, _ = imported
    report = validate_cache(settings, ["LNT", "APTV"])
    # the rejected LNT print is now a missing session; APTV simply starts late relative to LNT
    assert report.keys() == {
        ("LNT", date(2016, 5, 19), "missing_session"),
        ("APTV", date(2017, 12, 5), "short_history"),
    }


def test_csv_provider_path_is_resolved_against_the_project_root(project: Path, data_dir: Path) -> None:
    shutil.copy(data_dir / "GOOG.csv", project.parent / "GOOG.csv")
    settings = settings_for(project, "providers:\n  csv:\n    path: GOOG.csv\n    prices: adjusted\n", provider="csv")
    bars, _ = load_bars(settings, PluginHost.load(), ["GOOG"], date(2013, 2, 1), date(2013, 3, 1), now=FRI_EVENING)
    assert bars["close"]["GOOG"].iloc[-1] == 806.19


def test_arrow_cache_reads_symbols_with_different_sessions_into_the_union_like_parquet(tmp_path: Path) -> None:
    # the Arrow cache writes each file's values straight into the panel (sessions read first); a symbol
    # listed later, one that stops early and one with a hole must land where the plain read puts them
    days = pd.bdate_range("2024-01-02", periods=12)
    rows = []
    for sym, keep in (("AAA", days), ("BBB", days[4:]), ("CCC", days[:7]), ("DDD", days.delete([2, 3]))):
        for i, d in enumerate(keep):
            rows.append({"date": d, "symbol": sym, **{f: 10.0 + i + k / 10 for k, f in enumerate(BAR_FIELDS)}})
    long = pd.DataFrame(rows)
    panels = {}
    for fmt in ("parquet", "arrow"):
        cache = BarCache(tmp_path / fmt, "fake", fmt=fmt)
        with cache.lock():
            cache.store(long, {})
        panels[fmt] = cache.load_bars(["AAA", "BBB", "CCC", "DDD"], date(2024, 1, 3), date(2024, 1, 16))
    pd.testing.assert_frame_equal(panels["arrow"], panels["parquet"])
    assert panels["arrow"]["close"]["BBB"].isna().sum() == 3 and panels["arrow"]["close"]["DDD"].isna().sum() == 2
