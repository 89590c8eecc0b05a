"""The typed facade core code calls plugins through: :class:`PluginHost`.

Owns loading (a plugin is imported on first use; every load failure is
recorded, raised only when something selects that plugin), registering with
pluggy, and calling hooks — one method per hook, keyword-only arguments,
return values checked against the hook's contract (types, alignment, NaN,
[-1, 1]). Every failure becomes one :class:`~regimeflex.errors.PluginError`
line naming the plugin, its distribution and version, the YAML key that
selected it, and the fix. ``REGIMEFLEX_TRACE_PLUGINS=1`` logs every call
with redacted arguments, result type and time.
"""

from __future__ import annotations

import difflib
import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from regimeflex import hookspecs
from regimeflex.config.base import format_validation_error, readonly
from regimeflex.errors import ConfigError, PluginCallError, PluginError, RegimeFlexError
from regimeflex.log import get_logger
from regimeflex.secrets import redact

if TYPE_CHECKING:
    import pandas as pd

    from regimeflex.types import (
        Account,
        Bars,
        BarsRequest,
        BrokerContext,
        CommandContext,
        CorporateAction,
        Event,
        Fill,
        NotifyContext,
        Order,
        OrderResult,
    )

from regimeflex.plugins.registry import (
    DISABLED_ENV,
    ENTRY_POINT_GROUP,
    HOOK_NAMES,
    ROLE_HOOKS,
    TRACE_ENV,
    PluginInfo,
    _dist_of,
    _hooks_of,
    _new_manager,
    _Registry,
    _unknown_hooks,
    disabled_from_env,
    hook_api_problem,
    with_renamed_hooks,
)

log = get_logger("plugins")


class PluginHost:
    """Typed facade over the registered plugins. Core code calls only these methods."""

    def __init__(self, registry: _Registry) -> None:
        self._reg = registry
        self._callers: dict[tuple[str, str, int], Any] = {}
        self._trace = os.environ.get(TRACE_ENV, "").lower() in ("1", "true", "yes")

    # ----------------------------------------------------------- loading

    @classmethod
    def load(
        cls,
        *,
        disabled: Iterable[str] | None = None,
        entry_points: Iterable[metadata.EntryPoint] | None = None,
    ) -> PluginHost:
        """Find every plugin of the ``regimeflex`` entry-point group.

        A plugin's module is imported the first time anything asks about that
        plugin (a run imports only the plugins its YAML selects; listing
        imports them all), so an unused plugin's imports cost a short run
        nothing. Import failures and invalid plugins are recorded (state
        ``error``) and only raised when that plugin is selected, so one broken
        third-party package cannot stop a run that does not use it.
        """
        blocked = set(disabled_from_env()) | set(disabled or ())
        eps = list(entry_points) if entry_points is not None else list(metadata.entry_points(group=ENTRY_POINT_GROUP))
        registry = _Registry(pm=_new_manager())
        for ep in sorted(eps, key=lambda e: e.name):
            if ep.name in registry.infos or ep.name in registry.pending:
                first = registry.pending.pop(ep.name, None)
                other = _dist_of(first)[0] if first is not None else registry.infos[ep.name].distribution
                dist_name, version = _dist_of(ep)
                registry.infos[ep.name] = PluginInfo(
                    ep.name,
                    dist_name,
                    version,
                    ep.value,
                    state="error",
                    error=(
                        f"two installed distributions register a plugin named '{ep.name}' "
                        f"({other} and {dist_name}); uninstall one of them"
                    ),
                )
                continue
            if ep.name in blocked:
                dist_name, version = _dist_of(ep)
                registry.infos[ep.name] = PluginInfo(
                    ep.name,
                    dist_name,
                    version,
                    ep.value,
                    state="blocked",
                    error=f"disabled by {DISABLED_ENV}",
                )
                continue
            registry.pending[ep.name] = ep
        return cls(registry)

    def _materialize(self, name: str) -> None:
        """Import and register the pending entry point ``name`` (no-op when already done)."""
        ep = self._reg.pending.pop(name, None)
        if ep is None:
            return
        dist_name, version = _dist_of(ep)
        try:
            obj = ep.load()
        except Exception as exc:  # any import-time failure is the plugin's, reported not raised
            self._reg.infos[name] = PluginInfo(
                name,
                dist_name,
                version,
                ep.value,
                state="error",
                error=f"failed to import {ep.value}: {type(exc).__name__}: {redact(exc)}",
            )
            return
        self._register(self._reg, name, obj, dist_name, version, ep.value)

    def _materialize_all(self) -> None:
        for name in sorted(self._reg.pending):
            self._materialize(name)

    @classmethod
    def from_plugins(cls, plugins: Mapping[str, object], *, disabled: Iterable[str] | None = None) -> PluginHost:
        """A host with exactly these plugins (name → module or object); for tests and the kit."""
        registry = _Registry(pm=_new_manager())
        blocked = set(disabled or ())
        for name, obj in plugins.items():
            module = getattr(obj, "__name__", type(obj).__name__)
            if name in blocked:
                registry.infos[name] = PluginInfo(
                    name, None, None, module, state="blocked", error=f"disabled by {DISABLED_ENV}"
                )
                continue
            cls._register(registry, name, obj, None, None, module)
        return cls(registry)

    @staticmethod
    def _register(
        registry: _Registry, name: str, obj: object, dist: str | None, version: str | None, module: str
    ) -> None:
        pm = registry.pm
        registry.generation += 1
        declared = getattr(obj, "REGIMEFLEX_HOOK_API", None)
        hook_api = None if declared is None else str(declared)
        if declared is not None:
            problem = hook_api_problem(declared)
            if problem is not None:
                registry.infos[name] = PluginInfo(
                    name, dist, version, module, state="error", error=problem, hook_api=hook_api
                )
                return
        obj, renamed = with_renamed_hooks(obj)
        for note in renamed:
            warnings.warn(f"plugin '{name}': {note}", DeprecationWarning, stacklevel=2)
            log.warning("plugin '%s': %s", name, note)
        try:
            pm.register(obj, name=name)
        except pluggy.PluginValidationError as exc:
            registry.infos[name] = PluginInfo(
                name, dist, version, module, state="error", error=f"invalid hook implementation: {exc}"
            )
            return
        except ValueError as exc:  # same object registered twice under two names
            registry.infos[name] = PluginInfo(name, dist, version, module, state="error", error=str(exc))
            return
        unknown = _unknown_hooks(pm, obj)
        if unknown:
            pm.unregister(obj)
            hints = []
            for hook in unknown:
                close = difflib.get_close_matches(hook, HOOK_NAMES, n=1)
                hints.append(f"'{hook}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
            registry.infos[name] = PluginInfo(
                name,
                dist,
                version,
                module,
                state="error",
                error=f"implements unknown hook {', '.join(hints)}; see docs/hooks.md for the hook names",
            )
            return
        hooks = _hooks_of(pm, obj)
        roles = tuple(role for role, hook in ROLE_HOOKS.items() if hook in hooks)
        registry.infos[name] = PluginInfo(name, dist, version, module, hooks=hooks, roles=roles, hook_api=hook_api)

    # ------------------------------------------------------ introspection

    def info(self) -> list[PluginInfo]:
        self._materialize_all()
        return sorted(self._reg.infos.values(), key=lambda i: i.name)

    def names(self, role: str | None = None) -> list[str]:
        return [i.name for i in self.info() if i.state == "active" and (role is None or role in i.roles)]

    def get(self, name: str) -> PluginInfo | None:
        self._materialize(name)
        return self._reg.infos.get(name)

    def require(self, name: str, role: str, *, where: str = "") -> PluginInfo:
        """The plugin ``name`` if it is loaded and can play ``role``; else one clear PluginError."""
        prefix = f"{where}: " if where else ""
        info = self.get(name)
        if info is None:
            candidates = self.names(role)
            close = difflib.get_close_matches(name, list(self._reg.infos), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            listing = ", ".join(candidates) or "none"
            raise PluginError(
                f"{prefix}no plugin named '{name}' is installed{hint}. Installed {role} plugins: {listing}. "
                f"Fix the name, or install the package that provides it (pip install <package>)."
            )
        if info.state == "blocked":
            raise PluginError(
                f"{prefix}{info.label} is disabled by {DISABLED_ENV}; remove it from that variable to use it."
            )
        if info.state == "error":
            fix = (
                f"reinstall {info.distribution} or fix its dependencies"
                if info.distribution
                else "fix the plugin module"
            )
            raise PluginError(f"{prefix}{info.label} cannot be used: {info.error}. Fix: {fix}.")
        if role not in info.roles:
            hook = ROLE_HOOKS[role]
            listing = ", ".join(self.names(role)) or "none"
            raise PluginError(
                f"{prefix}{info.label} cannot act as {role}: it does not implement {hook}. "
                f"Choose a {role} plugin: {listing}."
            )
        return info

    # --------------------------------------------------------- the calls

    def _call(self, hook: str, plugin: str, **kwargs: Any) -> Any:
        info = self.get(plugin)
        if info is None or info.state != "active":
            role = next((r for r, h in ROLE_HOOKS.items() if h == hook), "plugin")
            self.require(plugin, role)
        assert info is not None
        if hook not in info.hooks:
            return _NOT_IMPLEMENTED
        key = (hook, plugin, self._reg.generation)
        caller = self._callers.get(key)
        if caller is None:
            others = [p for n, p in self._reg.pm.list_name_plugin() if n != plugin]
            caller = self._reg.pm.subset_hook_caller(hook, remove_plugins=others)
            self._callers[key] = caller
        start = time.perf_counter()
        try:
            result = caller(**kwargs)
        except RegimeFlexError:
            raise
        except OSError as exc:
            from regimeflex.fsio import DISK_ERRNOS, storage_error

            if exc.errno not in DISK_ERRNOS:
                raise self._raised(info, hook, exc) from exc
            # a full disk or a missing permission is the machine's, not a bug to report to the author
            where = Path(exc.filename) if exc.filename else Path("(a file it writes)")
            raise storage_error(exc, where, f"{info.label} in {hook}: file") from exc
        except Exception as exc:
            raise self._raised(info, hook, exc) from exc
        finally:
            if self._trace:
                elapsed = time.perf_counter() - start
                log.info("trace %s → %s(%s) in %.4fs", hook, plugin, _describe_kwargs(kwargs), elapsed)
        return self._finish(hook, plugin, result)

    @staticmethod
    def _raised(info: Any, hook: str, exc: BaseException) -> PluginCallError:
        return PluginCallError(
            f"{info.label} raised in {hook}: {type(exc).__name__}: {redact(exc)}. "
            f"Run with REGIMEFLEX_DEBUG=1 for the traceback, and report it to the plugin's author."
        )

    def _finish(self, hook: str, plugin: str, result: Any) -> Any:
        if not hookspecs_firstresult(hook):
            result = result[0] if result else None
        if self._trace:
            log.info("trace %s ← %s returned %s", hook, plugin, _describe(result))
        return result

    def _wrong_type(self, plugin: str, hook: str, got: Any, expected: str) -> PluginCallError:
        info = self._reg.infos[plugin]
        return PluginCallError(
            f"{info.label} returned {_describe(got)} from {hook}; expected {expected}. "
            f"Fix the plugin (run `regimeflex plugins check {plugin}`)."
        )

    def provide_bars(self, plugin: str, *, request: BarsRequest) -> Bars:
        import pandas as pd

        result = self._call("provide_bars", plugin, request=request)
        if result is _NOT_IMPLEMENTED or result is None:
            raise self._wrong_type(plugin, "provide_bars", None, "a Bars DataFrame")
        if not isinstance(result, pd.DataFrame):
            raise self._wrong_type(plugin, "provide_bars", result, "a Bars DataFrame")
        return result

    def bars_source(self, plugin: str, *, request: BarsRequest) -> dict[str, Any] | None:
        """The provider's ``bars_source`` answer, or None when it does not implement the hook."""
        result = self._call("bars_source", plugin, request=request)
        if result is _NOT_IMPLEMENTED or result is None:
            return None
        if not isinstance(result, Mapping):
            raise self._wrong_type(plugin, "bars_source", result, 'a mapping with "settings" and/or "files"')
        return dict(result)

    def provide_corporate_actions(
        self, plugin: str, *, symbols: Sequence[str], start: date, end: date, settings: Mapping[str, Any]
    ) -> list[CorporateAction] | None:
        """The provider's splits and dividends, or None when it does not implement the hook."""
        from regimeflex.types import CorporateAction

        result = self._call(
            "provide_corporate_actions",
            plugin,
            symbols=list(symbols),
            start=start,
            end=end,
            settings=readonly(settings),
        )
        if result is _NOT_IMPLEMENTED or result is None:
            return None
        if not isinstance(result, list) or not all(isinstance(r, CorporateAction) for r in result):
            raise self._wrong_type(plugin, "provide_corporate_actions", result, "a list of CorporateAction")
        return result

    def generate_signal(
        self, plugin: str, *, bars: Bars, params: Mapping[str, Any], check_values: bool = True
    ) -> pd.DataFrame:
        """The strategy's signal frame. With zero symbols the plugin is not called: the answer is an
        empty frame on the input's dates (so ``close = bars["close"]`` needs no guard in a plugin).

        ``check_values=False`` checks the frame's shape and dtypes but not its values: for a re-run
        whose values are compared with a frame already checked (the lookahead guard)."""
        symbols = _symbols(bars)
        if not symbols:
            self.require(plugin, "strategy")
            return _empty_frame(bars.index)
        result = self._call("generate_signal", plugin, bars=bars, params=readonly(params))
        self._check_frame(
            plugin, "generate_signal", result, bars.index, symbols, bounded=check_values, values=check_values
        )
        return result

    def size_position(
        self,
        plugin: str,
        *,
        signals: pd.DataFrame,
        bars: Bars,
        params: Mapping[str, Any],
        check_values: bool = True,
    ) -> pd.DataFrame:
        """The sizer's weight frame. With zero symbols the plugin is not called: the answer is an
        empty frame on the signals' dates. ``check_values`` as for :meth:`generate_signal`."""
        if len(signals.columns) == 0 or not _symbols(bars):
            self.require(plugin, "sizer")
            return _empty_frame(signals.index)
        result = self._call("size_position", plugin, signals=signals, bars=bars, params=readonly(params))
        self._check_frame(
            plugin,
            "size_position",
            result,
            signals.index,
            signals.columns,
            bounded=False,
            allow_nan=False,
            values=check_values,
        )
        return result

    def execute_orders(self, plugin: str, *, orders: Sequence[Order], context: BrokerContext) -> list[OrderResult]:
        from regimeflex.types import OrderResult

        result = self._call("execute_orders", plugin, orders=list(orders), context=context)
        if not isinstance(result, list) or not all(isinstance(r, OrderResult) for r in result):
            raise self._wrong_type(plugin, "execute_orders", result, "a list of OrderResult")
        return result

    def broker_account(self, plugin: str, *, context: BrokerContext) -> Account | None:
        from regimeflex.types import Account

        result = self._call("broker_account", plugin, context=context)
        if result is _NOT_IMPLEMENTED or result is None:
            return None
        if not isinstance(result, Account):
            raise self._wrong_type(plugin, "broker_account", result, "an Account or None")
        return result

    def broker_orders(
        self, plugin: str, *, client_order_ids: Sequence[str], context: BrokerContext
    ) -> list[OrderResult]:
        from regimeflex.types import OrderResult

        result = self._call("broker_orders", plugin, client_order_ids=list(client_order_ids), context=context)
        if result is _NOT_IMPLEMENTED or result is None:
            return []
        if not isinstance(result, list) or not all(isinstance(r, OrderResult) for r in result):
            raise self._wrong_type(plugin, "broker_orders", result, "a list of OrderResult")
        return result

    def broker_fills(self, plugin: str, *, since: datetime | None, context: BrokerContext) -> list[Fill]:
        from regimeflex.types import Fill

        result = self._call("broker_fills", plugin, since=since, context=context)
        if result is _NOT_IMPLEMENTED or result is None:
            return []
        if not isinstance(result, list) or not all(isinstance(r, Fill) for r in result):
            raise self._wrong_type(plugin, "broker_fills", result, "a list of Fill")
        return result

    def cancel_open_orders(self, plugin: str, *, context: BrokerContext) -> list[OrderResult]:
        result = self._call("cancel_open_orders", plugin, context=context)
        if result is _NOT_IMPLEMENTED or result is None:
            return []
        if not isinstance(result, list):
            raise self._wrong_type(plugin, "cancel_open_orders", result, "a list of OrderResult")
        return result

    def cancel_orders(
        self, plugin: str, *, client_order_ids: Sequence[str], context: BrokerContext
    ) -> list[OrderResult]:
        from regimeflex.types import OrderResult

        result = self._call("cancel_orders", plugin, client_order_ids=list(client_order_ids), context=context)
        if result is _NOT_IMPLEMENTED or result is None:
            return []
        if not isinstance(result, list) or not all(isinstance(r, OrderResult) for r in result):
            raise self._wrong_type(plugin, "cancel_orders", result, "a list of OrderResult")
        return result

    def notify(self, plugin: str, *, event: Event, context: NotifyContext) -> None:
        """Deliver one event; raises PluginCallError on failure (the dispatcher isolates it)."""
        self._call("notify", plugin, event=event, context=context)

    def indicator_lines(self, plugin: str, *, bars: Bars, params: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
        """The strategy's indicator lines (name → dates × symbols frame); empty when it draws none."""
        import pandas as pd

        result = self._call("indicator_lines", plugin, bars=bars, params=readonly(params))
        if result is _NOT_IMPLEMENTED or result is None:
            return {}
        if not isinstance(result, Mapping) or not all(isinstance(v, pd.DataFrame) for v in result.values()):
            raise self._wrong_type(plugin, "indicator_lines", result, "a mapping of name → DataFrame")
        return {str(k): v for k, v in result.items()}

    def serves_commands(self, plugin: str) -> bool:
        """Whether ``plugin`` is loaded and implements :func:`~regimeflex.hookspecs.serve_commands`."""
        info = self.get(plugin)
        return info is not None and info.state == "active" and "serve_commands" in info.hooks

    def serve_commands(self, plugin: str, *, context: CommandContext) -> None:
        """Run ``plugin``'s command loop (returns when ``context.should_stop()`` turns True)."""
        if self._call("serve_commands", plugin, context=context) is _NOT_IMPLEMENTED:
            info = self._reg.infos[plugin]
            raise PluginError(
                f"{info.label} cannot serve chat commands: it does not implement serve_commands. "
                f"Point run.yaml bot.channel at a channel whose plugin does (e.g. telegram)."
            )

    def settings_model(self, plugin: str) -> Any:
        result = self._call("settings_model", plugin)
        return None if result is _NOT_IMPLEMENTED else result

    def capabilities(self, plugin: str) -> dict[str, bool]:
        result = self._call("capabilities", plugin)
        if result is _NOT_IMPLEMENTED or result is None:
            return {}
        return {str(k): bool(v) for k, v in dict(result).items()}

    def required_env(self, plugin: str, settings: Mapping[str, Any] | None = None) -> list[str]:
        result = self._call("required_env", plugin, settings=readonly(settings))
        if result is _NOT_IMPLEMENTED or result is None:
            return []
        if isinstance(result, str) or not all(isinstance(n, str) for n in result):
            raise self._wrong_type(plugin, "required_env", result, "a list of environment variable names")
        return list(result)

    def validate_settings(self, plugin: str, raw: Mapping[str, Any] | None, *, where: str) -> Mapping[str, Any]:
        """Validate a plugin's YAML section with its own model; returns a read-only mapping.

        ``where`` is ``"<file>: <key path>"``, e.g. ``"data.yaml: providers.polygon"``.
        """
        from pydantic import BaseModel, ValidationError

        model = self.settings_model(plugin)
        raw = dict(raw or {})
        if model is None:
            return readonly(raw)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise self._wrong_type(plugin, "settings_model", model, "a pydantic BaseModel subclass")
        file_name, _, key_path = where.partition(": ")
        try:
            validated = model.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(file_name, exc, prefix=key_path)) from None
        return readonly(validated.model_dump())

    # --------------------------------------------------------- checking

    def _check_frame(
        self,
        plugin: str,
        hook: str,
        result: Any,
        index: Any,
        columns: Sequence[str],
        *,
        bounded: bool,
        allow_nan: bool = True,
        values: bool = True,
    ) -> None:
        import numpy as np
        import pandas as pd

        expected = "a dates × symbols float DataFrame aligned to its input"
        if not isinstance(result, pd.DataFrame):
            raise self._wrong_type(plugin, hook, result, expected)
        info = self._reg.infos[plugin]
        if not result.index.equals(index):
            raise PluginCallError(
                f"{info.label} returned a frame from {hook} whose dates differ from its input "
                f"({len(result.index)} rows vs {len(index)}); return exactly the input's index."
            )
        if not result.columns.equals(pd.Index(columns)) and list(result.columns) != list(columns):
            missing = sorted(set(columns) - set(result.columns))
            extra = sorted(set(result.columns) - set(columns))
            raise PluginCallError(
                f"{info.label} returned a frame from {hook} whose symbols differ from its input "
                f"(missing {missing[:5]}, extra {extra[:5]}); return exactly the input's symbols in order."
            )
        dtypes = result.dtypes
        if all(dt.kind == "f" for dt in set(dtypes.tolist())):
            non_float = []
        else:
            non_float = [str(c) for c, dt in dtypes.items() if not np.issubdtype(dt, np.floating)]
        if non_float:
            raise PluginCallError(f"{info.label} returned non-float columns from {hook}: {non_float[:5]}")
        if not values:
            return
        array = result.to_numpy(dtype="float64", na_value=np.nan)
        if array.size == 0:
            return
        # whole-panel reductions first (no temporary the size of the panel); the cell is located only on a breach
        if not allow_nan and np.isnan(array.min()):  # min is NaN exactly when some value is
            row, col = np.argwhere(np.isnan(array))[0]
            raise PluginCallError(
                f"{info.label} returned NaN from {hook} for {result.columns[col]} on "
                f"{result.index[row]:%Y-%m-%d}; use 0 for no position."
            )
        limit = 1.0 + 1e-12
        if bounded and not (np.fmax.reduce(array, axis=None) <= limit and np.fmin.reduce(array, axis=None) >= -limit):
            with np.errstate(invalid="ignore"):
                out = np.abs(array) > limit
            if out.any():
                row, col = np.argwhere(out)[0]
                raise PluginCallError(
                    f"{info.label} returned {array[row, col]:g} from {hook} for {result.columns[col]} on "
                    f"{result.index[row]:%Y-%m-%d}; signals must lie in [-1, 1]."
                )


class _NotImplementedType:
    def __repr__(self) -> str:
        return "<not implemented>"


_NOT_IMPLEMENTED: Any = _NotImplementedType()


def hookspecs_firstresult(hook: str) -> bool:
    spec = getattr(getattr(hookspecs, hook), "regimeflex_spec", {})
    return bool(spec.get("firstresult"))


def _empty_frame(index: Any) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(index=index, columns=pd.Index([], name="symbol"), dtype="float64")


def _symbols(bars: Any) -> list[str]:
    from regimeflex.types import bars_symbols

    return bars_symbols(bars)


def _describe(value: Any) -> str:
    try:
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            return f"DataFrame[{value.shape[0]}×{value.shape[1]}]"
        if isinstance(value, pd.Series):
            return f"Series[{len(value)}]"
    except ImportError:  # pragma: no cover - pandas is a hard dependency
        pass
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}[{len(value)}]"
    if value is None:
        return "None"
    return type(value).__name__


def _describe_kwargs(kwargs: Mapping[str, Any]) -> str:
    parts = []
    for key, value in kwargs.items():
        if isinstance(value, Mapping):
            shown = redact({k: v for k, v in value.items()})
        elif hasattr(value, "__dataclass_fields__"):
            shown = redact(repr(value))[:200]
        else:
            shown = _describe(value)
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


Caller = Callable[..., Any]
