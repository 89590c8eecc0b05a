"""Small plugins the kit's tests run the checks on: one that conforms, and one per broken clause.

Each is a class whose methods are ``@hookimpl`` functions, registered through
``PluginHost.from_plugins`` exactly as the kit registers an author's module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from regimeflex.hookspecs import hookimpl


def momentum(bars: pd.DataFrame, lookback: int = 20) -> pd.DataFrame:
    """Sign of the ``lookback``-session return; an empty universe gives an empty frame."""
    if bars.shape[1] == 0:
        return pd.DataFrame(index=bars.index, columns=pd.Index([], name="symbol"), dtype="float64")
    close = bars["close"]
    return np.sign(close / close.shift(lookback) - 1.0).astype("float64")


class GoodStrategy:
    @hookimpl
    def generate_signal(self, bars, params):
        return momentum(bars, int(params.get("lookback", 20)))


class PeekingStrategy:
    """Trades on tomorrow's close: the textbook lookahead bug."""

    @hookimpl
    def generate_signal(self, bars, params):
        if bars.shape[1] == 0:
            return momentum(bars)
        close = bars["close"]
        return np.sign(close.shift(-1) / close - 1.0).fillna(0.0).astype("float64")


class FullSampleStrategy:
    """Scales by the whole sample's mean: lookahead without any shift(-1)."""

    @hookimpl
    def generate_signal(self, bars, params):
        if bars.shape[1] == 0:
            return momentum(bars)
        close = bars["close"]
        return (close > close.mean()).astype("float64").where(close.notna())


class MutatingStrategy:
    @hookimpl
    def generate_signal(self, bars, params):
        signal = momentum(bars)
        bars.loc[bars.index[-1], ("close", "JPM")] = 0.0
        return signal


class RandomStrategy:
    @hookimpl
    def generate_signal(self, bars, params):
        noise = np.random.default_rng().uniform(-1, 1, size=(len(bars), bars.shape[1] // 5))
        return pd.DataFrame(noise, index=bars.index, columns=momentum(bars).columns)


class ReadmeIdiomStrategy:
    """The strategy the README shows, verbatim: ``bars["close"]`` with no empty-universe guard."""

    @hookimpl
    def generate_signal(self, bars, params):
        close = bars["close"]  # dates × symbols
        return (close > close.rolling(params.get("window", 100)).mean()).astype(float)


class FirstYearCalibratedStrategy:
    """Normalises returns with the mean and spread of the first 250 sessions: with a full history
    those statistics come from sessions after the early dates they are applied to."""

    @hookimpl
    def generate_signal(self, bars, params):
        ret = bars["close"].pct_change()
        calib = ret.iloc[:250]
        z = (ret - calib.mean()) / calib.std()
        return (z / 3.0).clip(-1.0, 1.0).fillna(0.0).astype("float64")


class BackfilledWarmupStrategy:
    """Back-fills the moving average's warm-up NaN from the first full window (``bfill``)."""

    @hookimpl
    def generate_signal(self, bars, params):
        close = bars["close"]
        sma = close.rolling(60).mean().bfill()
        return (close > sma).astype("float64").where(close.notna())


class GappyStrategy:
    """Loses its AAPL value on one session in the middle of the panel."""

    @hookimpl
    def generate_signal(self, bars, params):
        signal = momentum(bars)
        if "AAPL" in signal.columns and len(signal) > 300:
            signal.iloc[300, signal.columns.get_loc("AAPL")] = np.nan
        return signal


def long_only_weights(signals: pd.DataFrame) -> pd.DataFrame:
    positive = signals.clip(lower=0.0)
    total = positive.sum(axis=1).where(lambda s: s > 0, 1.0)
    return positive.div(total, axis=0).astype("float64")


class LongOnlySizer:
    @hookimpl
    def size_position(self, signals, bars, params):
        return long_only_weights(signals)


class SignedSizer:
    """Shorts negative signals; declares it only when built with ``declare=True``."""

    def __init__(self, declare: bool) -> None:
        self.declare = declare

    @hookimpl
    def size_position(self, signals, bars, params):
        gross = signals.abs().sum(axis=1).where(lambda s: s > 0, 1.0)
        return signals.div(gross, axis=0).astype("float64")

    @hookimpl
    def capabilities(self):
        return {"supports_short": self.declare}


class FullSampleVolSizer:
    """Divides by the whole sample's volatility: a sizer that looks ahead."""

    @hookimpl
    def size_position(self, signals, bars, params):
        if bars.shape[1] == 0:
            return long_only_weights(signals)
        vol = bars["close"].pct_change().std()
        return (long_only_weights(signals) * (0.01 / vol)).clip(upper=1.0).fillna(0.0).astype("float64")


class NetworkProvider:
    """A data provider that would call a vendor: it declares needs_network."""

    @hookimpl
    def provide_bars(self, request):
        raise AssertionError("the kit must not call a needs_network provider without settings")

    @hookimpl
    def capabilities(self):
        return {"needs_network": True}


#: Instances an entry point can name (``tests.kit.toys:PEEKING``).
GOOD = GoodStrategy()
PEEKING = PeekingStrategy()
NETWORK = NetworkProvider()


class MisspeltCapabilities:
    @hookimpl
    def generate_signal(self, bars, params):
        return momentum(bars)

    @hookimpl
    def capabilities(self):
        return {"support_short": True}
