"""Conformance kit for plugin authors (also a pytest plugin).

Owns one contract class per role that an author subclasses with a couple of
fixtures, ``parametrize_with_contracts``, capability tags, and the stable,
versioned check ids that ``regimeflex plugins check NAME`` runs too.
"""
