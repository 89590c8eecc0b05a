"""The cache's checksums (xxh3-128, recorded with their algorithm) and its one-read load, on real bars.

Every cache read checks the file's bytes against the manifest before using them (issue 11 part 7);
since issue 17 part 4 the checksum is xxh3-128 (``"xxh3_128:<hex>"``), old manifests' bare SHA-256
entries still verify and are re-recorded by the next manifest write, and ``load_bars`` reads each
file once and writes it straight into the panel.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeflex.data.cache import BarCache, Coverage, DamagedCacheFile, checksum
from regimeflex.types import BAR_FIELDS

FORMATS = ["csv", "parquet", "arrow"]
WHEN = datetime(2024, 6, 7, 23, 0, tzinfo=UTC)


def _five_year_stocks(data_dir: Path) -> pd.DataFrame:
    """The real all_stocks_5yr subset as long rows: listings, delistings, missing sessions, empty opens."""
    raw = pd.read_csv(data_dir / "all_stocks_5yr_subset.csv.gz", parse_dates=["date"])
    return raw.rename(columns={"Name": "symbol"}).loc[:, ["date", "symbol", *BAR_FIELDS]]


def _orcl(data_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(data_dir / "orcl-1995-2001.csv", parse_dates=["Date"])
    frame = raw.rename(columns=str.lower).loc[:, ["date", *BAR_FIELDS]]
    return frame.assign(symbol="ORCL").loc[:, ["date", "symbol", *BAR_FIELDS]]


def _stored(root: Path, fmt: str, long: pd.DataFrame) -> BarCache:
    cache = BarCache(root, "real", fmt=fmt)
    coverage = {str(s): Coverage(date(1990, 1, 2), date(2024, 6, 7), True) for s in long["symbol"].unique()}
    with cache.lock():
        cache.store(long, coverage)
    return cache


def _manifest(cache: BarCache) -> dict:
    return json.loads((cache.dir / "_manifest.json").read_text())["symbols"]


def _close_times_ten(cache: BarCache, symbol: str, row: int) -> None:
    """Rewrite one cache file, still well-formed, with one close ×10 (the manifest is left alone)."""
    frame = cache.read_symbol(symbol, {})
    frame.loc[row, "close"] *= 10
    cache.file(symbol).write_bytes(cache._encode(frame))


def _as_old_manifest(cache: BarCache) -> None:
    """The manifest as versions before issue 17 wrote it: each checksum a bare SHA-256 hex."""
    raw = json.loads((cache.dir / "_manifest.json").read_text())
    for symbol, entry in raw["symbols"].items():
        entry["checksum"] = hashlib.sha256(cache.file(symbol).read_bytes()).hexdigest()
    (cache.dir / "_manifest.json").write_text(json.dumps(raw))


def _bits(frame: pd.DataFrame) -> np.ndarray:
    return np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).view(np.uint64)


@pytest.mark.parametrize("fmt", FORMATS)
def test_new_checksums_are_recorded_as_xxh3_128_with_their_algorithm(tmp_path: Path, data_dir: Path, fmt: str) -> None:
    cache = _stored(tmp_path, fmt, _orcl(data_dir))
    recorded = _manifest(cache)["ORCL"]["checksum"]
    assert recorded.startswith("xxh3_128:") and len(recorded) == len("xxh3_128:") + 32


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_close_times_ten_is_caught_by_the_xxh3_checksum(tmp_path: Path, data_dir: Path, fmt: str) -> None:
    cache = _stored(tmp_path, fmt, _orcl(data_dir))
    _close_times_ten(cache, "ORCL", 300)
    with pytest.raises(DamagedCacheFile, match="its bytes differ from the checksum in the manifest"):
        cache.load_bars(["ORCL"])
    damaged: dict[str, str] = {}
    bars = cache.load_bars(["ORCL"], damaged=damaged)
    assert bars["close"]["ORCL"].isna().all() and damaged == {
        "ORCL": "its bytes differ from the checksum in the manifest"
    }


def test_an_old_sha256_manifest_still_verifies(tmp_path: Path, data_dir: Path) -> None:
    cache = _stored(tmp_path, "arrow", _five_year_stocks(data_dir))
    symbols = sorted(_manifest(cache))
    before = cache.load_bars(symbols)
    _as_old_manifest(cache)
    pd.testing.assert_frame_equal(BarCache(tmp_path, "real", fmt="arrow").load_bars(symbols), before)


def test_an_old_sha256_manifest_still_catches_a_close_times_ten(tmp_path: Path, data_dir: Path) -> None:
    cache = _stored(tmp_path, "arrow", _orcl(data_dir))
    _as_old_manifest(cache)
    _close_times_ten(cache, "ORCL", 300)
    with pytest.raises(DamagedCacheFile, match="its bytes differ from the checksum in the manifest"):
        cache.load_bars(["ORCL"])


def test_the_next_manifest_write_re_records_old_sha256_checksums_as_xxh3(tmp_path: Path, data_dir: Path) -> None:
    cache = _stored(tmp_path, "parquet", _five_year_stocks(data_dir))
    symbols = sorted(_manifest(cache))
    _as_old_manifest(cache)
    reader = BarCache(tmp_path, "real", fmt="parquet")
    reader.load_bars(symbols[:3])  # read and verified here; the others are read by the write itself
    with reader.lock():
        reader.touch(["AAL"], WHEN)
    upgraded = _manifest(reader)
    assert {s: upgraded[s]["checksum"] for s in symbols} == {s: checksum(reader.file(s).read_bytes()) for s in symbols}
    assert all(upgraded[s]["checksum"].startswith("xxh3_128:") for s in symbols)


def test_the_upgrade_never_re_records_a_file_that_fails_its_old_checksum(tmp_path: Path, data_dir: Path) -> None:
    cache = _stored(tmp_path, "csv", _orcl(data_dir))
    _as_old_manifest(cache)
    old = _manifest(cache)["ORCL"]["checksum"]
    _close_times_ten(cache, "ORCL", 300)
    with cache.lock():
        cache.touch(["ORCL"], WHEN)
    assert _manifest(cache)["ORCL"]["checksum"] == old
    with pytest.raises(DamagedCacheFile):
        cache.load_bars(["ORCL"])


def test_a_checksum_algorithm_this_version_does_not_know_is_refused_by_name(tmp_path: Path, data_dir: Path) -> None:
    cache = _stored(tmp_path, "arrow", _orcl(data_dir))
    raw = json.loads((cache.dir / "_manifest.json").read_text())
    raw["symbols"]["ORCL"]["checksum"] = "blake7:00ff"
    (cache.dir / "_manifest.json").write_text(json.dumps(raw))
    with pytest.raises(DamagedCacheFile, match="its checksum algorithm 'blake7' is unknown"):
        cache.load_bars(["ORCL"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_loaded_panel_is_the_stored_rows_bit_for_bit(tmp_path: Path, data_dir: Path, fmt: str) -> None:
    # 28 real symbols with different listings, delistings and missing sessions, empty opens, ORCL from the
    # 1990s (disjoint sessions), and a symbol that is not cached; a window cutting into every history
    long = pd.concat([_five_year_stocks(data_dir), _orcl(data_dir)], ignore_index=True)
    cache = _stored(tmp_path, fmt, long)
    symbols = sorted([*long["symbol"].unique(), "NOPE"])  # load_bars orders its columns by symbol
    start, end = date(2001, 6, 1), date(2017, 11, 30)
    bars = cache.load_bars(symbols, start, end)
    window = long[(long["date"] >= pd.Timestamp(start)) & (long["date"] <= pd.Timestamp(end))]
    wide = window.set_index(["date", "symbol"]).loc[:, list(BAR_FIELDS)].unstack("symbol")
    columns = pd.MultiIndex.from_product([list(BAR_FIELDS), symbols], names=["field", "symbol"])
    expected = wide.reindex(columns=columns).sort_index()
    assert bars.index.equals(expected.index) and bars.index.name == "date" and bars.columns.equals(columns)
    assert np.array_equal(_bits(bars), _bits(expected))
