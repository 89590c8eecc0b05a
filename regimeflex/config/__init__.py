"""Configuration: five YAML files plus ``.env``, validated into frozen settings objects.

This package owns reading ``config/run.yaml data.yaml strategies.yaml
risk.yaml broker.yaml``, validating each into a frozen pydantic model with
safe defaults (broker mode ``dry_run``), refusing unknown keys and secrets
in YAML (secrets come from the environment / ``.env`` only), and turning
every problem into one line naming the file, the key path and the bad value.
One module per file (``run``, ``data``, ``strategies``, ``risk``,
``broker``); plugin-specific sections are validated later by the plugin's
own ``settings_model`` (see :mod:`regimeflex.plugins`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from regimeflex.config.base import Fraction, FrozenModel, readonly, validate_model
from regimeflex.config.broker import BrokerSettings
from regimeflex.config.data import DataSettings
from regimeflex.config.risk import RiskSettings
from regimeflex.config.run import RunSettings
from regimeflex.config.strategies import StrategiesSettings
from regimeflex.errors import ConfigError
from regimeflex.fsio import read_yaml_mapping
from regimeflex.secrets import is_secret_key, load_dotenv_for

#: file name → (Settings attribute, model, required?)
CONFIG_FILES: dict[str, tuple[str, type[FrozenModel], bool]] = {
    "run.yaml": ("run", RunSettings, True),
    "data.yaml": ("data", DataSettings, False),
    "strategies.yaml": ("strategies", StrategiesSettings, False),
    "risk.yaml": ("risk", RiskSettings, False),
    "broker.yaml": ("broker", BrokerSettings, False),
}

#: which environment variable replaces a secret-looking YAML key: (words in the key path, variable)
_SECRET_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("polygon",), "POLYGON_API_KEY"),
    (("alpaca", "key_id"), "APCA_API_KEY_ID"),
    (("alpaca", "secret"), "APCA_API_SECRET_KEY"),
    (("alpaca",), "APCA_API_KEY_ID / APCA_API_SECRET_KEY"),
    (("key_id",), "APCA_API_KEY_ID"),
    (("secret_key",), "APCA_API_SECRET_KEY"),
    (("telegram", "chat"), "TELEGRAM_CHAT_ID"),
    (("token",), "TELEGRAM_BOT_TOKEN"),
    (("password",), "REGIMEFLEX_SMTP_PASSWORD"),
    (("secret",), "REGIMEFLEX_WEBHOOK_SECRET"),
)


def _secret_hint(path: tuple[str, ...]) -> str:
    joined = ".".join(path).lower()
    for words, env in _SECRET_HINTS:
        if all(w in joined for w in words):
            return env
    return "the variable the plugin reads (its README or `regimeflex plugins list` names it)"


class Settings(FrozenModel):
    """Everything the five YAML files say, plus where they were read from."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config_dir: Path
    run: RunSettings
    data: DataSettings = DataSettings()
    strategies: StrategiesSettings = StrategiesSettings()
    risk: RiskSettings = RiskSettings()
    broker: BrokerSettings = BrokerSettings()

    @property
    def root(self) -> Path:
        """The project root: relative paths in YAML resolve against it."""
        return self.config_dir.parent

    def path(self, value: str | Path) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.root / p)

    def redacted_dump(self) -> dict[str, Any]:
        """The settings as plain data for ``config show`` (secrets cannot be in YAML, but mask anyway)."""
        from regimeflex.secrets import redact_obj

        data = self.model_dump(mode="json", exclude={"config_dir"})
        redacted: dict[str, Any] = redact_obj(data)
        return redacted


def read_yaml(path: Path) -> Any:
    """Parse one YAML file strictly (UTF-8, no duplicate keys); errors name the file, line and column."""
    return read_yaml_mapping(path)


def refuse_secrets(data: Any, file_name: str, trail: tuple[str, ...] = ()) -> None:
    """A secret-looking key (``token``, ``api_key``, ``secret_key``, ``private_key``, ``password``,
    ``passphrase`` …, any case) in YAML is an error pointing at the env var to use, never the value."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = (*trail, str(key))
            if isinstance(key, str) and is_secret_key(key):
                raise ConfigError(
                    f"{file_name}: {'.'.join(path)}: secrets are not allowed in YAML "
                    f"files; remove it and set {_secret_hint(path)} in the environment or in .env"
                )
            refuse_secrets(value, file_name, path)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            refuse_secrets(item, file_name, (*trail, str(i)))


def load_settings(config_dir: str | Path, *, load_env: bool = True) -> Settings:
    """Read and validate the configuration directory (default ``./config``)."""
    config_dir = Path(config_dir).expanduser().resolve()
    if not config_dir.is_dir():
        raise ConfigError(
            f"config directory {config_dir} does not exist; create one with `regimeflex init DIR` or pass --config DIR"
        )
    if load_env:
        load_dotenv_for(config_dir)
    sections: dict[str, Any] = {}
    for file_name, (attr, model, required) in CONFIG_FILES.items():
        path = config_dir / file_name
        if not path.exists():
            if required:
                raise ConfigError(
                    f"{file_name}: missing in {config_dir}; it must at least list the universe "
                    f"(`universe: [SPY]`). `regimeflex init DIR` writes a starter set."
                )
            continue
        raw = read_yaml(path)
        refuse_secrets(raw, file_name)
        sections[attr] = validate_model(model, raw, file_name)
    return Settings(config_dir=config_dir, **sections)


__all__ = [
    "BrokerSettings",
    "CONFIG_FILES",
    "DataSettings",
    "Fraction",
    "RiskSettings",
    "RunSettings",
    "Settings",
    "StrategiesSettings",
    "load_settings",
    "read_yaml",
    "readonly",
]
