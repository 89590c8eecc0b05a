"""The kill switch as every broker sees it: :class:`KillGuard` (``BrokerContext.kill_switch``).

The core owns the kill switch and hands each broker hook a guard in its
context, so stopping is a contract of the core rather than a courtesy of each
plugin. A broker (and the HTTP sessions it builds with
:func:`regimeflex.http.make_session`, which take the guard) must:

* call :meth:`KillGuard.check` before every request that could place, look up
  or resend an order — it raises :class:`~regimeflex.errors.KillSwitchEngaged`
  once the switch is engaged;
* wait between attempts only with :meth:`KillGuard.wait`, which returns after
  the given time or raises as soon as the switch is engaged (the flag is polled
  every :data:`POLL_SECONDS`; an in-process :meth:`KillGuard.engage` wakes it at once).

Once a guard has seen the switch engaged it stays engaged for the rest of the
run (removing the flag mid-run does not resume sending). So after engage at
most the one request already on the wire completes; nothing new starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from regimeflex.errors import KillSwitchEngaged

#: How often :meth:`KillGuard.wait` looks at the switch while it waits.
POLL_SECONDS = 0.05


class KillGuard:
    """Checks and interruptible waits against one kill switch.

    :param probe: returns True when the switch is engaged (the core passes the
        flag file's existence check); None means a guard that never engages
        (see :meth:`never`).
    :param where: what the switch is (the flag path), for messages.
    :param poll: seconds between looks at ``probe`` during :meth:`wait`.
    :param sleep: how to pause for one poll step (tests inject a fake); the
        default waits on an event that :meth:`engage` sets.
    :param clock: a monotonic clock in seconds (tests inject a fake).
    """

    def __init__(
        self,
        probe: Callable[[], bool] | None = None,
        *,
        where: str = "kill switch",
        poll: float = POLL_SECONDS,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self.where = where
        self.poll = poll
        self._tripped = threading.Event()
        self._sleep = sleep or self._tripped.wait
        self._clock = clock
        self.consulted = 0  # how often the switch was looked at; the conformance kit reads it

    @classmethod
    def never(cls, where: str = "no kill switch (operator command)") -> KillGuard:
        """A guard that never engages: for operator commands such as ``kill on --cancel-open``."""
        return cls(None, where=where)

    def engaged(self) -> bool:
        """True once the switch has been seen engaged (it then stays engaged for this guard)."""
        self.consulted += 1
        if self._tripped.is_set():
            return True
        if self._probe is not None and self._probe():
            self._tripped.set()
            return True
        return False

    __call__ = engaged

    def engage(self) -> None:
        """Engage in-process (wakes every :meth:`wait` at once); the flag file is the operator's way."""
        self._tripped.set()

    def check(self, what: str = "") -> None:
        """Raise :class:`KillSwitchEngaged` if the switch is engaged; ``what`` names what was not done."""
        if self.engaged():
            raise KillSwitchEngaged(f"kill switch engaged ({self.where})" + (f": {what} not sent" if what else ""))

    def wait(self, seconds: float, what: str = "") -> None:
        """Pause ``seconds`` (a backoff or Retry-After), raising as soon as the switch is engaged.

        Checks before, every ``poll`` seconds during, and after the wait, so the
        request that follows a completed wait starts only if the switch is still off.
        """
        self.check(what)
        deadline = self._clock() + max(0.0, float(seconds))
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            self._sleep(min(self.poll, remaining))
            self.check(what)

    def __repr__(self) -> str:
        return f"KillGuard({self.where!r}, engaged={self._tripped.is_set()})"
