"""Report layer: self-contained HTML reports (jinja2, inline SVG charts) and performance metrics.

Owns the daily report (regime, breakers, calendar, targets vs positions,
orders, fills, reconciliation, equity and drawdown; :mod:`.daily`), the
backtest tear sheet (:mod:`.tearsheet`), the pure metric functions both use
(:mod:`.metrics`), the charts (:mod:`.charts`) and atomic writing
(:mod:`.render`). Reports work offline: no CDN, no external assets, no script.
Import the submodules directly; this package imports nothing heavy.
"""
