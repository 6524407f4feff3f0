"""dlsolve: worked solutions for deep-learning course exercises.

The Python API (SPEC §13, docs/python-api.md): `solver.solve(problem)` for a problem or a set
given as a dict or YAML text, `solver.solve_file(path)`; results render themselves in Jupyter;
bad input raises `solver.BadInput`. Its names are imported on first use, so `import solver`,
which every command of the command line does, stays cheap (SPEC §8).
"""

__version__ = "0.1.0"

_LAZY = {
    "solve": "api", "solve_file": "api", "SolvedProblem": "api", "SolvedSet": "api",
    "DlsolveError": "errors", "BadInput": "errors", "InternalError": "errors",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'solver' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
