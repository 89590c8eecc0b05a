"""Report layer: self-contained HTML reports (jinja2, inline SVG charts).

Owns the daily report (regime, breakers, calendar, targets vs positions,
orders, fills, reconciliation, equity and drawdown) and the backtest tear
sheet. Reports work offline: no CDN, no external assets.
"""
