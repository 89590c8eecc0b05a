"""``regimeflex config validate|show``."""

from __future__ import annotations

from typing import Any

import click
import yaml

from regimeflex.cli.common import echo_json, load_settings_for
from regimeflex.secrets import redact_obj


@click.group("config")
def config_group() -> None:
    """Validate or show the configuration."""


@config_group.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def validate_cmd(ctx: click.Context, as_json: bool) -> None:
    """Check every YAML file and every plugin it selects (installed, loads, right role, valid settings),
    and that the provider can serve every universe symbol, the benchmark and the VIX series — from the
    cache manifest and the provider's own files, without any network call. With run.yaml
    ``backtest.start``/``end`` set, the benchmark and regime series must cover that period (the
    backtest's pre-flight).

    Exit 0 when valid, 2 with one line per problem naming the file, key and fix otherwise.
    """
    from regimeflex.errors import ConfigError
    from regimeflex.plugins import PluginHost, resolve

    settings = load_settings_for(ctx)
    host = PluginHost.load()
    selection = resolve(settings, host)
    selection_names = {s.where: s.name for s in selection.all()}
    symbols = symbol_preflight(settings, host)
    problems = [row["problem"] for row in symbols if row["status"] == "unavailable"]
    if problems:
        raise ConfigError("\n".join(problems))
    backtest = backtest_preflight(settings, host, symbols)
    summary = {
        "config_dir": str(settings.config_dir),
        "valid": True,
        "plugins": selection_names,
        "broker_mode": settings.broker.mode,
        "symbols": symbols,
        "backtest": backtest,
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(f"configuration in {settings.config_dir} is valid")
    for where, name in selection_names.items():
        click.echo(f"  {where:<48} {name}")
    click.echo(f"  broker mode: {settings.broker.mode}")
    click.echo(f"symbols (provider {settings.data.provider}; cache and local files only, no network):")
    for row in symbols:
        click.echo(f"  {row['symbol']:<8} {row['detail']:<56} {', '.join(row['keys'])}")
    click.echo(f"backtest period: {backtest['detail']}")


def backtest_preflight(settings: Any, host: Any, symbols: list[dict[str, Any]]) -> dict[str, Any]:
    """The backtest's coverage pre-flight (:func:`regimeflex.backtest.api.coverage`) on run.yaml's
    ``backtest.start``/``end``, offline: the benchmark and regime series are read from the cache,
    or from the provider when it needs no network (its own files); a network provider's series
    that is not cached cannot be seen and is reported as ``unknown``, never as covered.
    Raises :class:`ConfigError` (exit 2) naming the key and the gap.
    """
    import pandas as pd

    from regimeflex.backtest.api import coverage, period
    from regimeflex.data import calendar
    from regimeflex.data.service import open_cache, provider_settings
    from regimeflex.errors import ConfigError, DataError, ProviderError
    from regimeflex.types import BarsRequest, check_bars

    bt = settings.run.backtest
    if bt.start is None and bt.end is None:
        return {"status": "not configured", "detail": "not configured (run.yaml backtest.start/end); not checked"}
    lo, hi = period(settings)
    regime = settings.risk.regime
    wanted = [s for s in dict.fromkeys([settings.run.benchmark, regime.detect.benchmark, regime.vix_symbol]) if s]
    status = {row["symbol"]: row["status"] for row in symbols}
    cached = [s for s in wanted if status.get(s) == "cached"]
    unseen = [s for s in wanted if status.get(s) == "fetch"]
    direct = [s for s in wanted if s not in cached and s not in unseen]
    frames = [open_cache(settings).load_bars(cached, lo.date(), hi.date())] if cached else []
    if direct:
        provider = settings.data.provider
        request = BarsRequest(
            symbols=tuple(direct),
            start=lo.date(),
            end=hi.date(),
            adjusted=settings.data.adjusted,
            settings=provider_settings(settings, host, provider),
        )
        try:
            frames.append(check_bars(host.provide_bars(provider, request=request), where=f"data provider '{provider}'"))
        except ProviderError:
            pass  # no bars: the pre-flight below names the series and the gap
    # the window is the exchange's sessions of the period (the universe's dates in a backtest)
    days = calendar.sessions(lo.date(), min(hi, calendar.last_completed_session()).date())
    if frames:
        bars = pd.concat(frames, axis=1).sort_index(axis=1).reindex(days)
    else:
        bars = pd.DataFrame(index=days, columns=pd.MultiIndex.from_tuples([], names=["field", "symbol"]))
    try:
        _, _, notes = coverage(settings, bars, lo, hi, unseen=unseen)
    except DataError as exc:
        raise ConfigError(f"run.yaml backtest: {exc}") from None
    span = f"{lo:%Y-%m-%d}..{hi:%Y-%m-%d}"
    if unseen:
        detail = f"{span}: {', '.join(unseen)} unknown (not cached; the first run fetches it)"
        return {"status": "unknown", "detail": detail, "start": str(lo.date()), "end": str(hi.date())}
    detail = f"{span}: " + ("; ".join(notes) if notes else f"covered by {', '.join(wanted)}")
    return {
        "status": "shortened" if notes else "covered",
        "detail": detail,
        "start": str(lo.date()),
        "end": str(hi.date()),
    }


def symbol_keys(settings: Any) -> dict[str, list[str]]:
    """Every symbol a run loads, with the YAML keys that name it (universe, benchmarks, VIX)."""
    keys: dict[str, list[str]] = {}
    for symbol in settings.run.universe:
        keys.setdefault(symbol, []).append("run.yaml: universe")
    regime = settings.risk.regime
    for symbol, key in (
        (settings.run.benchmark, "run.yaml: benchmark"),
        (regime.detect.benchmark, "risk.yaml: regime.detect.benchmark"),
        (regime.vix_symbol, "risk.yaml: regime.vix_symbol"),
    ):
        if symbol:
            keys.setdefault(symbol, []).append(key)
    return keys


def symbol_preflight(settings: Any, host: Any) -> list[dict[str, Any]]:
    """Can the configured provider serve each symbol a run loads? Answered from the cache manifest
    (with the span it covers), the provider's own files (``bars_source``) or its nature (a provider
    that needs no network and reads no files generates any symbol); a network provider's symbol that
    is not cached yet is fetched by the first run — reported, not checked, since nothing here goes out.
    """
    from datetime import date

    from regimeflex.data import calendar
    from regimeflex.data.service import open_cache, provider_settings
    from regimeflex.types import BarsRequest

    provider = settings.data.provider
    keys = symbol_keys(settings)
    manifest = open_cache(settings).manifest()
    today = calendar.ny_today().date()
    request = BarsRequest(
        symbols=tuple(keys),
        start=date(today.year - 1, 1, 1),
        end=today,
        adjusted=settings.data.adjusted,
        settings=provider_settings(settings, host, provider),
    )
    source = host.bars_source(provider, request=request) or {}
    files = source.get("files")
    network = host.capabilities(provider).get("needs_network", False)
    rows: list[dict[str, Any]] = []
    for symbol, where in keys.items():
        row: dict[str, Any] = {"symbol": symbol, "keys": where}
        cached = manifest.get(symbol)
        if cached is not None:
            behind = calendar.sessions_after(cached.end, calendar.last_completed_session())
            row.update(
                status="cached",
                first=cached.start.isoformat(),
                last=cached.end.isoformat(),
                detail=f"cached {cached.start.isoformat()}..{cached.end.isoformat()}"
                + (f" ({behind} sessions behind)" if behind else ""),
            )
        elif files is not None and symbol in files:
            paths = list(files[symbol])
            if paths:
                names = ", ".join(sorted({str(p).rsplit("/", 1)[-1] for p in paths}))
                row.update(status="source file", detail=f"not cached yet; read from {names}")
            else:
                row.update(
                    status="unavailable",
                    detail="no source file and not cached",
                    problem=f"{where[0]}: {symbol} cannot be served by '{provider}': no file of its source "
                    f"serves it and its cache does not hold it; add the file or fix the symbol",
                )
        elif network:
            row.update(status="fetch", detail=f"not cached yet; the first run fetches it from {provider}")
        else:
            row.update(status="generated", detail=f"generated by {provider} (no files, no network)")
        rows.append(row)
    return rows


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@click.pass_context
def show_cmd(ctx: click.Context, as_json: bool) -> None:
    """Print the effective value of every setting — each selected plugin's defaults included — and
    where it came from (``file``, ``default`` or ``environment``); secrets redacted.
    """
    from regimeflex.plugins import PluginHost

    settings = load_settings_for(ctx)
    host = PluginHost.load()
    data, sources = effective_config(settings, host)
    environment = environment_settings(settings, host)
    if as_json:
        echo_json({**data, "sources": sources, "environment": environment})
        return
    click.echo("# effective configuration; after each value, where it came from (file, default, environment)")
    for line in _annotated_lines(redact_obj(data), sources, ()):
        click.echo(line)
    if environment:
        click.echo("environment:")
        for name, info in environment.items():
            click.echo(f"  {name}: {info['value']}  # {info['source']}")


#: Settings attribute → the YAML file it comes from.
FILES = {
    "run": "run.yaml",
    "data": "data.yaml",
    "strategies": "strategies.yaml",
    "risk": "risk.yaml",
    "broker": "broker.yaml",
}


def plugin_sections(settings: Any) -> list[tuple[tuple[str, ...], str, Any, str]]:
    """Every plugin-owned section of the YAML: (path in the dump, plugin, raw YAML mapping, where)."""
    provider = settings.data.provider
    out: list[tuple[tuple[str, ...], str, Any, str]] = [
        (
            ("data", "providers", provider),
            provider,
            settings.data.providers.get(provider),
            f"data.yaml: providers.{provider}",
        )
    ]
    for inst, spec in settings.strategies.strategies.items():
        where = f"strategies.yaml: strategies.{inst}.params"
        out.append((("strategies", "strategies", inst, "params"), spec.plugin, spec.params, where))
    out.append(
        (("risk", "sizer", "params"), settings.risk.sizer.plugin, settings.risk.sizer.params, "risk.yaml: sizer.params")
    )
    broker = settings.broker.broker
    out.append(
        (("broker", "brokers", broker), broker, settings.broker.brokers.get(broker), f"broker.yaml: brokers.{broker}")
    )
    for channel, spec in settings.run.notify.channels.items():
        where = f"run.yaml: notify.channels.{channel}.settings"
        out.append((("run", "notify", "channels", channel, "settings"), spec.plugin or channel, spec.settings, where))
    return out


def effective_config(settings: Any, host: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The effective settings (each selected plugin's section validated by its own model, so its
    defaults show) and, per leaf key path (``risk.sizer.params.max_weight``), ``file`` when the
    YAML says it or ``default`` when nothing does."""
    from regimeflex.config import read_yaml
    from regimeflex.errors import RegimeFlexError

    data = settings.model_dump(mode="json", exclude={"config_dir"})
    for path, plugin, raw, where in plugin_sections(settings):
        try:
            validated = host.validate_settings(plugin, raw, where=where)
        except RegimeFlexError:
            continue  # not installed or invalid: `config validate` says so; show what the YAML says
        node = data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = _plain(validated)
    raw_files = {}
    for attr, file_name in FILES.items():
        path = settings.config_dir / file_name
        raw_files[attr] = read_yaml(path) if path.exists() else {}
    sources: dict[str, str] = {}
    for leaf in _leaves(data, ()):
        sources[".".join(leaf)] = "file" if _present(raw_files.get(leaf[0]), leaf[1:]) else "default"
    return data, sources


def environment_settings(settings: Any, host: Any) -> dict[str, dict[str, str]]:
    """The environment variables the configuration reads — each selected plugin's keys (values
    never shown) and RegimeFlex's own switches that are set — with where each comes from."""
    import os

    from regimeflex.errors import RegimeFlexError

    keys: list[str] = []
    for _, plugin, raw, where in plugin_sections(settings):
        try:
            keys += host.required_env(plugin, host.validate_settings(plugin, raw, where=where))
        except RegimeFlexError:
            continue
    switches = ["REGIMEFLEX_CONFIG", "REGIMEFLEX_DISABLED_PLUGINS", "REGIMEFLEX_TRACE_PLUGINS", "REGIMEFLEX_CACHE_HOME"]
    dotenv = _dotenv_values(settings.config_dir)
    out: dict[str, dict[str, str]] = {}
    for name in dict.fromkeys([*keys, *(n for n in switches if n in os.environ)]):
        value = os.environ.get(name)
        if value is None:
            out[name] = {"value": "(not set)", "source": "missing"}
            continue
        from_file = dotenv.get(name) is not None and str(dotenv[name]).strip() == value
        out[name] = {"value": "***" if name in keys else value, "source": ".env" if from_file else "environment"}
    return out


def _dotenv_values(config_dir: Any) -> dict[str, str | None]:
    from dotenv import dotenv_values

    for candidate in (config_dir.parent / ".env", config_dir / ".env"):
        if candidate.is_file():
            return dict(dotenv_values(candidate))
    return {}


def _plain(value: Any) -> Any:
    """Read-only mappings, tuples, dates and paths as plain JSON-able data."""
    from collections.abc import Mapping
    from pathlib import Path

    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _leaves(node: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, str(k)))]
    return [path]


def _present(raw: Any, path: tuple[str, ...]) -> bool:
    for i, key in enumerate(path):
        if not isinstance(raw, dict):
            # a breaker's bare number (``vix: 45``) is its threshold
            return i == len(path) - 1 and key == "threshold" and isinstance(raw, (int, float))
        if key not in raw:
            return False
        raw = raw[key]
    return True


def _annotated_lines(node: Any, sources: dict[str, str], path: tuple[str, ...]) -> list[str]:
    """The effective config as YAML, each leaf followed by ``# file`` / ``# default``."""
    lines: list[str] = []
    for key, value in node.items():
        here = (*path, str(key))
        pad = "  " * len(path)
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key}:")
            lines.extend(_annotated_lines(value, sources, here))
        else:
            text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
            text = text[: -len("\n...")] if text.endswith("\n...") else text
            lines.append(f"{pad}{key}: {text}  # {sources.get('.'.join(here), 'default')}")
    return lines
