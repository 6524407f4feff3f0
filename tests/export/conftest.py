"""Fixtures of the export tests; the helpers themselves live in export_helpers.py (a module
name of its own: every test folder's conftest.py is a module named `conftest`)."""

from export_helpers import build  # noqa: F401
