"""Helpers shared by the tests: scratch databases, ODBC connection strings, homes, and the
segment-filter tests' registry, handmade overlay and hypothesis strategies (filter_*.py).

The fixtures built on them live in `tests/conftest.py`; import the plain helpers from
here, e.g. `from tests.support.homes import make_home`.
"""
