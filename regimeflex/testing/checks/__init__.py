"""The conformance checks, one module per role, with stable versioned ids.

Owns the check registry (:data:`CHECKS`, :func:`checks_for`) and every check
for the five roles: :mod:`.strategy`, :mod:`.sizer`, :mod:`.data`,
:mod:`.broker`, :mod:`.notifier` (plus :mod:`.any_role`). A check calls the
plugin's hooks on the shipped real panel (:mod:`regimeflex.testing.sample`)
and raises :class:`~regimeflex.testing.subject.CheckFailure` with a message
naming the check, the symbol and the first date that differs. Importing this
package registers every check in run order.
"""

from regimeflex.testing.checks.frames import first_difference
from regimeflex.testing.checks.registry import (
    ATOL,
    CHECKS,
    RTOL,
    SINGLE_SYMBOL,
    Check,
    CheckResult,
    checks_for,
    get_check,
    raised_at,
    run_check,
    run_checks,
)

# Importing a role's module registers its checks; this order is the run order.
# isort: off
from regimeflex.testing.checks import strategy, sizer, data, broker, notifier, any_role  # noqa: E402, F401
# isort: on

__all__ = [
    "ATOL",
    "CHECKS",
    "RTOL",
    "SINGLE_SYMBOL",
    "Check",
    "CheckResult",
    "checks_for",
    "first_difference",
    "get_check",
    "raised_at",
    "run_check",
    "run_checks",
]
