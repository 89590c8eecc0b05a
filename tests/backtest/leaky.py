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


class FirstYearCalibrated:
    """Normalises returns with the mean and spread of the first 250 sessions (statistics that, for
    the early dates they are applied to, come partly from later sessions)."""

    @hookimpl
    def generate_signal(self, bars, params):
        ret = bars["close"].pct_change()
        calib = ret.iloc[:250]
        return ((ret - calib.mean()) / calib.std() / 3.0).clip(-1.0, 1.0).fillna(0.0)


PEEKING = Peeking()
README = ReadmeIdiom()
CALIBRATED = FirstYearCalibrated()


class Boom:
    """Raises from a helper inside the plugin: the traceback must reach the user under REGIMEFLEX_DEBUG=1."""

    @hookimpl
    def generate_signal(self, bars, params):
        return explode(bars)


def explode(bars):
    raise ZeroDivisionError("boom inside the strategy")


BOOM = Boom()
