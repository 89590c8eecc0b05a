"""The ``regimeflex`` command line (click), with every command imported lazily.

This package owns argument parsing, the global options (``--config DIR``,
``--log-format``, ``--log-level``), turning :class:`~regimeflex.errors.RegimeFlexError`
into one redacted line on stderr and the documented exit code (0 ok, 1 error,
2 usage/config error, 3 kill switch engaged), and the map from command name to
the module that implements it, so ``regimeflex --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from regimeflex.cli.common import CliState
from regimeflex.errors import EXIT_CONFIG, EXIT_ERROR, RegimeFlexError
from regimeflex.secrets import redact

#: command name → ("module:attribute", one-line help). Each layer adds its own line.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("regimeflex.cli.init:init_cmd", "Write a starter config directory and .env.example."),
    "config": ("regimeflex.cli.config:config_group", "Validate or show the configuration (secrets redacted)."),
    "plugins": ("regimeflex.cli.plugins:plugins_group", "List installed plugins or check one against the kit."),
    "new-plugin": (
        "regimeflex.cli.scaffold:new_plugin_cmd",
        "Create a plugin package (entry point, hooks, conformance test).",
    ),
    "doctor": (
        "regimeflex.cli.doctor:doctor_cmd",
        "Check that tomorrow's run will work (config, keys, endpoints, ledger).",
    ),
    "ledger": ("regimeflex.cli.ledger:ledger_group", "Verify, show or export the hash-chained audit ledger."),
    "kill": ("regimeflex.cli.kill:kill_group", "Engage, release or inspect the kill switch (stops all orders)."),
    "reconcile": (
        "regimeflex.cli.reconcile:reconcile_cmd",
        "Compare the ledger with the broker; record missing fills.",
    ),
    "run": ("regimeflex.cli.run:run_cmd", "Run the daily cycle once (dry-run unless broker.yaml says otherwise)."),
    "risk": ("regimeflex.cli.risk:risk_group", "Show regime, circuit breakers and calendar events; reset a breaker."),
    "sweep": (
        "regimeflex.cli.sweep:sweep_cmd",
        "Grid/random parameter search or walk-forward over backtests, on Dask.",
    ),
    "backtest": (
        "regimeflex.cli.backtest:backtest_cmd",
        "Backtest the configured strategies over history (files, tear sheet, --json).",
    ),
    "data": ("regimeflex.cli.data:data_group", "Fetch, import, validate and inspect cached daily bars (--json)."),
    "report": ("regimeflex.cli.report:report_group", "List daily reports, print one's path, re-render a tear sheet."),
    "notify": ("regimeflex.cli.notify:notify_group", "Send a test message to each notification channel."),
    "bot": (
        "regimeflex.cli.bot:bot_cmd",
        "Answer chat commands (/status, /kill, ...) from allowed users until stopped.",
    ),
}

EPILOG = """\b
Exit codes: 0 ok, 1 error, 2 usage or configuration error, 3 kill switch engaged.
Environment: REGIMEFLEX_DISABLED_PLUGINS=a,b blocks plugins; REGIMEFLEX_TRACE_PLUGINS=1
traces hook calls; REGIMEFLEX_DEBUG=1 shows tracebacks; NO_COLOR disables colour.
Secrets (APCA_API_KEY_ID, POLYGON_API_KEY, TELEGRAM_BOT_TOKEN, ...) come from the
environment or a .env file beside the config directory, never from YAML."""


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked (or when their help is shown)."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            target, _ = self.lazy[name]
            module_name, attr = target.split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, self.lazy[name][1])
            if name in self.lazy
            else (name, (self.get_command(ctx, name) or click.Command(name)).get_short_help_str())
            for name in self.list_commands(ctx)
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_dir",
    default="config",
    show_default=True,
    envvar="REGIMEFLEX_CONFIG",
    type=click.Path(file_okay=False, path_type=Path),
    help="Configuration directory (run.yaml, data.yaml, strategies.yaml, risk.yaml, broker.yaml).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Console log format (default from run.yaml, else text).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "SUCCESS", "RISK", "ERROR"], case_sensitive=False),
    default=None,
    help="Lowest level shown (default from run.yaml, else INFO).",
)
@click.option(
    "--now",
    "now_text",
    envvar="REGIMEFLEX_NOW",
    default=None,
    metavar="TIME",
    help="Act as if it were TIME (YYYY-MM-DD = that session's close in New York, or an ISO date-time) — "
    "for replays, drills and tests; every command reads this one clock. Default: the system clock.",
)
@click.version_option(package_name="regimeflex")
@click.pass_context
def cli(
    ctx: click.Context, config_dir: Path, log_format: str | None, log_level: str | None, now_text: str | None
) -> None:
    """RegimeFlex: run a systematic US-equity strategy every trading day, safely,
    and backtest the very same code.

    \b
    Start here:
      regimeflex init mybot            # starter config in mybot/config
      regimeflex --config mybot/config config validate
      regimeflex --config mybot/config run          # dry-run: plans, sends nothing
    """
    from regimeflex import log
    from regimeflex.cli.common import parse_now

    now = parse_now(now_text) if now_text else None
    ctx.obj = CliState(config_dir=config_dir, log_format=log_format, log_level=log_level, now=now)
    log.configure(level=log_level or "INFO", fmt=log_format or "text")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one clear line and an exit code for every known failure."""
    try:
        code = cli.main(args=argv, prog_name="regimeflex", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(EXIT_CONFIG if exc.exit_code == 2 else exc.exit_code)
    except RegimeFlexError as exc:
        if os.environ.get("REGIMEFLEX_DEBUG"):  # the traceback the message promises (the plugin's own, chained)
            import traceback

            click.echo(redact("".join(traceback.format_exception(exc)).rstrip()), err=True)
        click.echo(f"error: {redact(exc)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as exc:  # a disk or permission failure the command did not name itself
        from regimeflex.fsio import DISK_ERRNOS, storage_error

        if exc.errno not in DISK_ERRNOS or os.environ.get("REGIMEFLEX_DEBUG"):
            _internal_error(exc)
        click.echo(f"error: {redact(storage_error(exc, Path(exc.filename or '(unknown path)'), 'file'))}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # the last line of defence: no raw traceback unless asked
        _internal_error(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _internal_error(exc: Exception) -> None:
    if os.environ.get("REGIMEFLEX_DEBUG"):
        raise exc
    click.echo(
        f"internal error: {type(exc).__name__}: {redact(exc)} "
        f"(run with REGIMEFLEX_DEBUG=1 for the traceback and report it)",
        err=True,
    )
    sys.exit(EXIT_ERROR)
