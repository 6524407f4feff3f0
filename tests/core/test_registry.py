"""The registry finds kinds in flat modules and in family packages from file names alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from solver.registry import get_kind, kind_modules, kind_names

REPO = Path(__file__).resolve().parents[2]
KINDS = REPO / "solver" / "kinds"


def test_every_public_module_is_one_kind_and_helpers_are_not():
    expected = {}
    for path in KINDS.rglob("*.py"):
        relative = path.relative_to(KINDS)
        if any(part.startswith("_") for part in relative.parts) or len(relative.parts) > 2:
            continue
        dotted = "solver.kinds." + ".".join(relative.with_suffix("").parts)
        expected[path.stem.replace("_", "-")] = dotted
    assert kind_modules() == expected
    assert kind_names() == sorted(expected)


def test_each_module_registers_the_kind_it_is_named_for():
    for name, dotted in kind_modules().items():
        kind = get_kind(name)
        assert kind.name == name
        assert kind.solve.__module__ == dotted


def test_listing_imports_no_kind_module():
    code = ("import sys\nfrom solver.registry import kind_names\nkind_names()\n"
            "print(sorted(m for m in sys.modules if m.startswith('solver.kinds.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_a_family_kind_imports_only_its_own_family():
    code = ("import sys\nfrom solver.registry import get_kind\nget_kind('rnn-unroll')\n"
            "print(sorted(m for m in sys.modules if m.startswith('solver.kinds.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    loaded = out.stdout.strip().strip("[]").replace("'", "").split(", ")
    assert "solver.kinds.rnn.rnn_unroll" in loaded
    assert all(m.startswith("solver.kinds.rnn") for m in loaded), loaded
