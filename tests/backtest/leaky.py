"""Strategy plugins the backtest's lookahead guard is tried on (registered as entry points by the tests)."""

from __future__ import annotations

from regimeflex.hookspecs import hookimpl


class Peeking:
    """The README's idiom with a one-line lookahead: tomorrow's close."""

    @hookimpl
    def generate_signal(self, bars, params):
        close = bars["close"]
        return (close.shift(-1) > close).astype(float)


class ReadmeIdiom:
    """The strategy the README shows, verbatim."""

    @hookimpl
    def generate_signal(self, bars, params):
        close = bars["close"]  # dates × symbols
        return (close > close.rolling(params.get("window", 100)).mean()).astype(float)


PEEKING = Peeking()
README = ReadmeIdiom()


class Boom:
    """Raises from a helper inside the plugin: the traceback must reach the user under REGIMEFLEX_DEBUG=1."""

    @hookimpl
    def generate_signal(self, bars, params):
        return explode(bars)


def explode(bars):
    raise ZeroDivisionError("boom inside the strategy")


BOOM = Boom()
