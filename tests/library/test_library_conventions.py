"""The five published networks under every `flops_convention`, against the tools themselves:
dlsolve's total must be the number torch.utils.flop_counter, fvcore, ptflops, thop and torchinfo
print for the same model (the plain-torch twins of library_branched). Tools that are not
installed are skipped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

torch = pytest.importorskip("torch")

from library_branched import BRANCHED, as_module  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kinds"))
from test_network_conventions import TOOLS, dlsolve_total, tool_total  # noqa: E402

PROBLEMS = Path(__file__).resolve().parents[2] / "problems"


@pytest.mark.parametrize("key", sorted(BRANCHED))
def test_published_networks_under_every_convention(key):
    torch.set_num_threads(1)
    file, problem_id = key.split("::")
    document = yaml.safe_load((PROBLEMS / file).read_text(encoding="utf-8"))
    given = next(p for p in document["problems"] if p["id"] == problem_id)["given"]
    shape = [int(v) for v in str(given["input"]).split("x")]
    model = as_module(BRANCHED[key][0]())
    checked = 0
    for tool, package in TOOLS.items():
        try:
            __import__(package)
        except ImportError:
            continue
        result = dlsolve_total(shape, given["layers"], tool)
        assert result.error is None, result.error
        assert result.answers["totals"]["flops"] == tool_total(tool, model, shape), (key, tool)
        checked += 1
    assert checked >= 1
