#!/usr/bin/env python3
"""Build (once) a RegimeFlex project whose cache holds a peer-benchmark case, configured as the
peers' "regime-trend" (peers/STRATEGY.md) in plain YAML.

Usage: cli_project.py DATA_DIR PROJECT_DIR [FORMAT] — DATA_DIR holds the wide {open,...}.parquet
of one case (the harness's gen_data.py / gen_real.py); FORMAT is the cache format (data.yaml
``cache.format``: arrow, the default here as the format documented for backtests, parquet or csv).
Writes per-symbol CSV files (floats written with full precision, so the cache holds the same
numbers), a config whose universe is every symbol, and imports the files into the data layer's
cache with ``regimeflex.data.service.import_source``, so ``regimeflex backtest`` then reads only
the cache. The configuration is built-in only, like for like with the peers:

* strategy ``trend`` with ``rule: price_above_both`` (close > SMA 50 and > SMA 200);
* ``backtest: {mode: research, sleeves: true, rebalance: on_change, breakers: false}`` — one
  sleeve of 100,000/N per symbol, held while long; ``warmup_sessions: 0`` and the whole period,
  so the first decision is on the same bar as the peers';
* sizer ``sleeve`` (weight = signal: the whole sleeve while long);
* no regime scaling, no FOMC entry rule (the peers have neither).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def build(frames: dict[str, pd.DataFrame], project: Path, fmt: str = "arrow") -> Path:
    """Write the project for the wide ``frames`` (open/high/low/close/volume) and fill its cache;
    returns its config dir. Does nothing when ``project`` is already built."""
    config = project / "config"
    if (project / ".ready").exists():
        return config
    symbols = [str(s) for s in frames["close"].columns]
    files = project / "import"
    files.mkdir(parents=True, exist_ok=True)
    for s in symbols:
        df = pd.DataFrame({f: frames[f][s] for f in ("open", "high", "low", "close", "volume")})
        df.index.name = "date"
        df.to_csv(files / f"{s}.csv", float_format="%.17g")
    config.mkdir(parents=True, exist_ok=True)
    first, last = frames["close"].index[0], frames["close"].index[-1]
    (config / "run.yaml").write_text(
        f"universe: [{', '.join(symbols)}]\nbenchmark: {symbols[0]}\ninitial_equity: 100000\n"
        f"backtest:\n  start: {first:%Y-%m-%d}\n  end: {last:%Y-%m-%d}\n  warmup_sessions: 0\n"
        f"  mode: research\n  sleeves: true\n  rebalance: on_change\n  breakers: false\n"
    )
    (config / "data.yaml").write_text(
        f"provider: csv\nproviders:\n  csv:\n    path: {files}\n    prices: adjusted\ncache:\n  format: {fmt}\n"
    )
    (config / "strategies.yaml").write_text(
        "strategies:\n  trend:\n    plugin: trend\n    budget: 1.0\n"
        "    params: {rule: price_above_both, fast: 50, slow: 200}\n"
    )
    (config / "risk.yaml").write_text(
        f"sizer:\n  plugin: sleeve\n"
        f"regime:\n  detect: {{benchmark: {symbols[0]}}}\n"
        f"  scaling: {{bull: 1.0, neutral: 1.0, bear: 1.0, unknown: 1.0}}\n"
        f"calendar:\n  fomc: {{rule: allow}}\n"
    )
    (config / "broker.yaml").write_text("broker: paper\nmode: dry_run\n")
    from regimeflex.config import load_settings
    from regimeflex.data.service import import_source

    settings = load_settings(config)
    stored, _ = import_source(settings, files)
    print(f"cached {len(stored)} symbols under {settings.path(settings.run.paths.cache_dir)}", file=sys.stderr)
    (project / ".ready").write_text("ok\n")
    return config


def main(data_dir: Path, project: Path, fmt: str = "arrow") -> None:
    frames = {f: pd.read_parquet(data_dir / f"{f}.parquet") for f in ("open", "high", "low", "close", "volume")}
    build(frames, project, fmt)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:4])
