"""Errors a user sees, each with the exit code the CLI returns for it.

Every error RegimeFlex raises on purpose derives from :class:`RegimeFlexError`
and carries a one-line message that names the file, key, plugin or symbol at
fault and the fix. The CLI prints that line (never a traceback) and exits
with :attr:`RegimeFlexError.exit_code`:

* 0 ok, 1 runtime error, 2 usage or configuration error, 3 kill switch engaged.
"""

from __future__ import annotations

from typing import Any

from regimeflex.secrets import redact

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_KILLED = 3


class RegimeFlexError(Exception):
    """Base class: a problem with a clear one-line explanation for the user."""

    exit_code: int = EXIT_ERROR


class ConfigError(RegimeFlexError):
    """A YAML file, key or value is wrong (names file, key path, value and fix)."""

    exit_code = EXIT_CONFIG


class SecretError(ConfigError):
    """A secret variable is unusable (whitespace or a control character inside); names the
    variable, never the value. ``permanent``: a notifier that hits it is not retried."""

    permanent = True


class PluginError(RegimeFlexError):
    """A plugin is unknown, fails to import, lacks its hook, raised, or returned the wrong type."""

    exit_code = EXIT_CONFIG


class PluginCallError(PluginError):
    """A selected plugin raised or returned something that breaks its hook's contract."""

    exit_code = EXIT_ERROR


class DataError(RegimeFlexError):
    """Market data is missing, stale or failed validation."""


class ProviderError(DataError):
    """A data vendor failed after bounded retries (timeouts, 5xx, 429, bad bodies)."""


class BrokerError(RegimeFlexError):
    """The broker could not be reached or answered with an unrecoverable error."""


class LedgerError(RegimeFlexError):
    """The audit ledger is locked, torn or fails verification."""


class StorageError(RegimeFlexError):
    """A folder RegimeFlex writes to failed: disk full, read-only filesystem, no permission.
    The message names the path, the cause and the fix; ``path`` and ``errno`` say which."""

    def __init__(self, message: str, *, path: Any = None, errno: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno


class LedgerBroken(LedgerError):
    """The ledger's hash chain (or a signature) does not verify: nothing may act on it."""


class KillSwitchEngaged(RegimeFlexError):
    """The kill switch flag is present: nothing may be sent."""

    exit_code = EXIT_KILLED


class DeliveryError(RegimeFlexError):
    """A notifier could not deliver an event.

    ``permanent`` is True when retrying cannot help (bad token, unknown chat,
    wrong address): the dispatcher reports the error once and disables the
    channel until the next run.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(redact(message))
        self.permanent = permanent


class HttpError(RegimeFlexError):
    """An HTTP call failed for good; ``status`` is None for network errors and timeouts.

    Raised by :mod:`regimeflex.http` (and re-exported there); defined here so
    code that only catches it need not import the HTTP stack.
    """

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(redact(message))
        self.status = status
        self.body = body
