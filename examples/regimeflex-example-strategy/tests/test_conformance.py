from regimeflex.testing import StrategyContract


class TestExampleMomentum(StrategyContract):
    plugin = "example_momentum"
