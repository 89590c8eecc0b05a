"""The built-in plugins: the plugins RegimeFlex ships, in their own wing.

Owns the thirteen plugins registered under the ``regimeflex`` entry-point
group in pyproject.toml exactly as a third-party package registers its own:
data providers (``synthetic``, ``csv``), strategies (``trend``,
``mean_reversion``, ``regime``), sizers (``equal_weight``, ``inverse_vol``,
``fixed_fractional``, ``atr_risk``), the simulated ``paper`` broker and the
``console``, ``webhook`` and ``email`` notifiers. Core code never imports
these modules (an import-linter contract checks it): it reaches them only
through the plugin host, by the name the YAML selects. Each module holds
``@hookimpl`` functions and the plugin's settings model; the arithmetic they
share with the core (indicators, sizing formulas, the fill simulator, the
CSV reader) lives in its layer.
"""
