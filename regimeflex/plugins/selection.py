"""Selection: which installed plugin plays each role, as the YAML says, checked before anything runs.

Owns :func:`resolve` — every plugin the configuration names is installed,
loads, implements its role's hook, and its YAML section validates against its
own settings model — and the :class:`Selection` the runner and the backtest
use afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from regimeflex.log import get_logger
from regimeflex.secrets import get_secret

if TYPE_CHECKING:
    from regimeflex.config import Settings

    pass

from regimeflex.plugins.host import PluginHost

log = get_logger("plugins")


@dataclass(frozen=True)
class Selected:
    """One plugin chosen by the YAML for a role, with its validated settings/params."""

    name: str
    role: str
    where: str
    settings: Mapping[str, Any]
    label: str = ""
    budget: float = 1.0


@dataclass(frozen=True)
class Selection:
    """Every plugin the configuration selects, resolved and validated before anything runs."""

    data: Selected
    strategies: Mapping[str, Selected]
    sizer: Selected
    broker: Selected | None = None
    notifiers: Mapping[str, Selected] = field(default_factory=dict)

    def all(self) -> list[Selected]:
        broker = [self.broker] if self.broker is not None else []
        return [self.data, *self.strategies.values(), self.sizer, *broker, *self.notifiers.values()]


#: What a backtest needs: no broker or notifier is ever called, so none has to be installed.
HISTORY_ROLES: tuple[str, ...] = ("data", "strategy", "sizer")


def sizer_params(settings: Settings, host: PluginHost) -> dict[str, Any]:
    """risk.yaml ``sizer.params``, plus ``stops`` (risk.yaml's ``stops:`` section, the stop the run
    places) when the sizer's settings model has a ``stops`` field the user did not set."""
    params = dict(settings.risk.sizer.params or {})
    model = host.settings_model(settings.risk.sizer.plugin)
    if "stops" not in params and "stops" in (getattr(model, "model_fields", None) or {}):
        params["stops"] = settings.risk.stops.model_dump()
    return params


def resolve(
    settings: Settings, host: PluginHost, roles: Sequence[str] = ("data", "strategy", "sizer", "broker", "notifier")
) -> Selection:
    """Check that every plugin the YAML names for ``roles`` is installed, loads, can play its
    role, and accepts its settings; return them validated. Raises the first problem found."""

    def pick(
        name: str,
        role: str,
        where: str,
        raw: Mapping[str, Any] | None,
        settings_where: str,
        label: str = "",
        budget: float = 1.0,
    ) -> Selected:
        host.require(name, role, where=where)
        validated = host.validate_settings(name, raw, where=settings_where)
        for variable in host.required_env(name, validated):
            get_secret(variable, needed_by=f"{name}, {where}")  # stripped; refused with whitespace/control inside
        return Selected(name=name, role=role, where=where, settings=validated, label=label or name, budget=budget)

    data_name = settings.data.provider
    data = pick(
        data_name,
        "data",
        "data.yaml: provider",
        settings.data.providers.get(data_name),
        f"data.yaml: providers.{data_name}",
    )
    strategies = {
        inst: pick(
            spec.plugin,
            "strategy",
            f"strategies.yaml: strategies.{inst}.plugin",
            spec.params,
            f"strategies.yaml: strategies.{inst}.params",
            label=inst,
            budget=spec.budget,
        )
        for inst, spec in settings.strategies.strategies.items()
        if spec.enabled
    }
    sizer = pick(
        settings.risk.sizer.plugin,
        "sizer",
        "risk.yaml: sizer.plugin",
        sizer_params(settings, host),
        "risk.yaml: sizer.params",
    )
    broker = None
    if "broker" in roles:
        broker_name = settings.broker.broker
        broker = pick(
            broker_name,
            "broker",
            "broker.yaml: broker",
            settings.broker.brokers.get(broker_name),
            f"broker.yaml: brokers.{broker_name}",
        )
        from regimeflex.config.risk import require_stops_supported

        # a stop configuration the broker cannot place is refused here: before any data or broker call
        require_stops_supported(settings.risk.stops, broker=broker_name, capabilities=host.capabilities(broker_name))
    notifiers = (
        {
            channel: pick(
                spec.plugin or channel,
                "notifier",
                f"run.yaml: notify.channels.{channel}.plugin",
                spec.settings,
                f"run.yaml: notify.channels.{channel}.settings",
                label=channel,
            )
            for channel, spec in settings.run.notify.channels.items()
        }
        if "notifier" in roles
        else {}
    )
    return Selection(data=data, strategies=strategies, sizer=sizer, broker=broker, notifiers=notifiers)
