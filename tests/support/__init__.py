"""Helpers shared by the tests: scratch databases, ODBC connection strings, homes.

The fixtures built on them live in `tests/conftest.py`; import the plain helpers from
here, e.g. `from tests.support.homes import make_home`.
"""
