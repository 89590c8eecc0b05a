"""regimeflex-example-strategy: a third-party RegimeFlex strategy package, as an author would ship it.

It depends on ``regimeflex`` public names only (``hookimpl``, the Bars
type) and registers ``example_momentum`` through the ``regimeflex``
entry-point group; :mod:`regimeflex_example_strategy.strategy` holds the hooks.
"""
