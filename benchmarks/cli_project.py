#!/usr/bin/env python3
"""Build (once) a RegimeFlex project whose parquet cache holds a peer-benchmark case.

Usage: cli_project.py DATA_DIR PROJECT_DIR [FORMAT] — DATA_DIR holds the wide {open,...}.parquet
of one case (peers/gen_data.py); FORMAT is the cache format (data.yaml ``cache.format``: arrow,
the default here as the format documented for backtests, parquet or csv). Writes per-symbol CSV
files, a config whose universe is every symbol, and imports the files into the data layer's cache with
``regimeflex.data.service.import_source``, so ``regimeflex backtest`` then reads only the
cache. The strategy is the built-in ``trend`` (close above SMA 200) with ``fixed_fractional``
sizing of 1/N per held name, trading only when a target changes (entries and exits; held
positions drift) — the nearest built-in configuration to the peers' regime-trend (one rolling
mean instead of two, one shared cash account instead of N sleeves, so its final equity is not
compared with theirs; the agreement check is the ``regimeflex`` row).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main(data_dir: Path, project: Path, fmt: str = "arrow") -> None:
    config = project / "config"
    if (project / ".ready").exists():
        return
    frames = {f: pd.read_parquet(data_dir / f"{f}.parquet") for f in ("open", "high", "low", "close", "volume")}
    symbols = list(frames["close"].columns)
    files = project / "import"
    files.mkdir(parents=True, exist_ok=True)
    for s in symbols:
        df = pd.DataFrame({f: frames[f][s] for f in frames})
        df.index.name = "date"
        df.to_csv(files / f"{s}.csv")
    config.mkdir(parents=True, exist_ok=True)
    first, last = frames["close"].index[0], frames["close"].index[-1]
    (config / "run.yaml").write_text(
        f"universe: [{', '.join(symbols)}]\nbenchmark: {symbols[0]}\ninitial_equity: 100000\n"
        f"backtest:\n  start: {first:%Y-%m-%d}\n  end: {last:%Y-%m-%d}\n  warmup_sessions: 0\n"
        f"  mode: research\n  rebalance: on_change\n"
    )
    (config / "data.yaml").write_text(
        f"provider: csv\nproviders:\n  csv:\n    path: {files}\n    prices: adjusted\ncache:\n  format: {fmt}\n"
    )
    (config / "strategies.yaml").write_text(
        "strategies:\n  trend:\n    plugin: trend\n    budget: 1.0\n    params: {rule: price_above_sma, slow: 200}\n"
    )
    (config / "risk.yaml").write_text(
        f"sizer:\n  plugin: fixed_fractional\n"
        f"  params: {{fraction: {1 / len(symbols)!r}, max_weight: 1.0}}\n"
        f"regime:\n  detect: {{benchmark: {symbols[0]}}}\n"
    )
    (config / "broker.yaml").write_text("broker: paper\nmode: dry_run\n")
    from regimeflex.config import load_settings
    from regimeflex.data.service import import_source

    settings = load_settings(config)
    stored, _ = import_source(settings, files)
    print(f"cached {len(stored)} symbols under {settings.path(settings.run.paths.cache_dir)}")
    (project / ".ready").write_text("ok\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:4])
