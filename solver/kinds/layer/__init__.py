"""The layer family of problem kinds: one module per kind, `_*.py` helpers shared by them.

Kept empty: listing kinds reads file names, and a kind imports only what it uses.
"""
