"""The fast path of one-problem kind commands (solver/fast.py, solver/light_models.py): it loads
none of the heavy libraries, answers exactly as the full command line does, and its stand-in
validation accepts only what pydantic accepts, with the same values."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
from helpers import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.light_models import Unsupported, light_models
from solver.registry import get_kind

EXAMPLES = str(REPO / "problems" / "examples") + "/"
HEAVY = ("typer", "click", "rich.console", "rich.table", "pydantic", "yaml", "numpy", "sympy", "torch",
         "matplotlib")


def run(argv: list[str], full: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DLSOLVE_FULL_PATH", "COLUMNS")}
    if full:
        env["DLSOLVE_FULL_PATH"] = "1"
    module = "solver.cli" if full else "solver"
    return subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)


def loaded_by(argv: list[str]) -> list[str]:
    code = ("import json, sys\nfrom solver.fast import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    line = next(out for out in result.stdout.splitlines() if out.startswith("LOADED "))
    return json.loads(line[len("LOADED "):])


def test_a_numeric_command_loads_no_command_line_or_validation_library():
    assert loaded_by(["conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2"]) == []
    assert loaded_by(["network", "1x32x32 | conv 6 5 | maxpool 2 | fc 10", "--format", "json"]) == []
    assert loaded_by(["network", "1x32x32 | conv 6 5 | maxpool 2 | fc 10"]) == []  # its tables, too
    assert loaded_by(["solve", EXAMPLES + "conv-shape-variants.yaml", "--format", "json"]) == ["yaml"]


def test_the_version_is_answered_without_the_command_line():
    assert loaded_by(["--version"]) == []
    assert run(["--version"]).stdout == run(["--version"], full=True).stdout


def test_help_and_bad_input_go_the_full_way():
    assert "typer" in loaded_by(["conv-shape", "--help"])
    assert "pydantic" in loaded_by(["conv-shape", "--input", "10x11", "--kernel", "0"])


COMMANDS = [
    ["conv-shape", "--input", "49", "--output", "25", "--kernel", "3", "--stride", "2", "--find", "padding"],
    ["conv-shape", "--input", "C,H,W", "--kernel", "K", "--padding", "P", "--stride", "S", "--dilation", "D",
     "--filters", "F"],
    ["conv-shape", "--input", "3x32x32", "--kernel", "3", "--padding", "same", "--stride", "2", "--decimals", "2"],
    ["conv-shape", "--input", "7", "--kernel", "2", "--stride", "2", "--ceil-mode", "--op", "pool", "-f", "json"],
    ["conv-shape", "--input", "10x11", "--kernel", "0"],  # bad input: message and exit code 2
    ["conv-shape", "--input", "10x11", "--kernal", "3"],
    ["network", "1x32x32 | conv 6 5 | maxpool 2 | conv 16 5 | maxpool 2 | fc 120 | fc 84 | fc 10"],
    ["posenc", "--pos", "5", "--dims", "0..10", "--d-model", "512"],
    ["gate", "XOR", "--format=json"],
    ["rnn-unroll", "--layers", "3", "--steps", "4", "--cell", "LSTM"],
    ["rnn-unroll", "--layers", "0", "--steps", "4"],
    ["convolve", "--input", "[1, 2, 6, 7, 8, 9, 1]", "--filters", "[[0, 1, 0], [1, 0, 1]]"],
    ["solve", EXAMPLES + "conv-shape-variants.yaml"],
    ["solve", EXAMPLES + "conv-shape-variants.yaml", EXAMPLES + "posenc-layouts.yaml", "-f", "json"],
    ["solve", str(REPO / "tests" / "bad_input" / "mixed_good_and_bad.yml")],  # error entries: the full path
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: " ".join(argv)[:50])
def test_the_fast_path_answers_as_the_full_command_line(argv):
    fast, full = run(argv), run(argv, full=True)
    assert (fast.stdout, fast.stderr, fast.returncode) == (full.stdout, full.stderr, full.returncode)


# Values of every type a flag or YAML field can carry, awkward ones included.
WORDS = ["?", "K", "same", "valid", "full", "3x3", "10x11", "3,32,32", "abc", "", "-1", "2.5", "conv", "pool",
         "transposed-conv", "chw", "hwc", "interleaved", "halves", "0..7", "XOR", "AND", "NOT", "sigmoid", "step",
         "in_out", "out-in", "relu", "gelu", "softmax", "1x8x8 | fc 3"]


def random_value(rng: random.Random):
    choice = rng.randrange(7)
    if choice == 0:
        return rng.randint(-3, 40)
    if choice == 1:
        return rng.choice([0.5, -1.0, 2.0, 3.25])
    if choice == 2:
        return rng.choice([True, False])
    if choice == 3:
        return rng.choice(WORDS)
    if choice == 4:
        return [rng.randint(-1, 9) for _ in range(rng.randint(0, 4))]
    if choice == 5:
        return [[rng.randint(-2, 3) for _ in range(2)] for _ in range(rng.randint(1, 3))]
    return {"x": rng.randint(0, 3)}


@pytest.mark.parametrize("kind_name", ["conv-shape", "conv-design", "posenc", "network", "tensor", "gate", "rnn-unroll",
                                       "activation", "batchnorm", "attention"])
def test_the_stand_in_accepts_only_what_pydantic_accepts_with_the_same_values(kind_name):
    rng = random.Random(kind_name)
    kind = get_kind(kind_name)
    real = kind.input_model
    names = [*real.model_fields, "not_a_field"]
    inputs = []
    for _ in range(400):  # the kind's template with up to three fields replaced or added
        given_values = dict(kind.template)
        for name in rng.sample(names, rng.randint(0, min(3, len(names)))):
            given_values[name] = random_value(rng)
        inputs.append(given_values)
    with light_models():
        from solver.registry import get_kind as get_light_kind

        light = get_light_kind(kind_name).input_model
        light_dumps = []
        for given_values in inputs:
            try:
                light_dumps.append(repr(light.model_validate(dict(given_values)).model_dump()))
            except Unsupported:
                light_dumps.append(None)
    accepted = 0
    for given_values, light_dump in zip(inputs, light_dumps):
        if light_dump is None:
            continue
        accepted += 1
        assert light_dump == repr(real.model_validate(dict(given_values)).model_dump()), given_values
    assert accepted >= 5, "the comparison needs inputs the stand-in accepts"


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789xabcefnoyt -+_.,|=()×:#[]{}'\"&*!sulNOTY~", min_size=1, max_size=14)
       | st.sampled_from(["null", "Null", "on", "Off", "YES", "no", "y", "n", "same", "conv1d", "a-b", "nan", "inf"]))
def test_flag_words_and_number_lists_read_as_yaml_reads_them(text):
    import yaml

    from solver.flags import flag_value

    try:
        expected = "?" if text.strip() == "?" else yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        expected = text
    if expected is None:
        expected = text
    value = flag_value(text)
    assert value == expected and type(value) is type(expected)


def test_a_512_by_512_matrix_flag_is_read_as_json():
    from solver.flags import flag_value

    matrix = [[(i * 7 + j) % 11 - 5 for j in range(512)] for i in range(512)]
    assert flag_value(json.dumps(matrix)) == matrix


def _through_a_terminal(argv: list[str], full: bool) -> bytes:
    """What a command writes to a 57-column colour terminal (a pseudo-terminal)."""
    import fcntl
    import pty
    import struct
    import termios

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR",
                                                            "DLSOLVE_FULL_PATH")}
    env["TERM"] = "xterm-256color"
    if full:
        env["DLSOLVE_FULL_PATH"] = "1"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 57, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "solver.cli" if full else "solver", *argv], stdin=slave,
                               stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not data:
            break
        out += data
    process.wait(timeout=120)
    os.close(master)
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.parametrize("argv", [
    ["conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2"],
    ["network", "1x32x32 | conv 6 5 | maxpool 2 | fc 10"],
], ids=["conv-shape", "network"])
def test_a_colour_terminal_gets_the_same_bytes(argv):
    fast = _through_a_terminal(argv, full=False)
    assert b"\x1b[1;36m" in fast  # coloured, wrapped at 57 columns
    assert fast == _through_a_terminal(argv, full=True)


def test_a_file_with_an_error_entry_is_solved_once(tmp_path):
    """The fast path hands its results to the full command line, which reports the error entry
    without solving the file a second time; the output is the full path's."""
    problems = tmp_path / "set.yaml"
    problems.write_text("problems:\n  - {id: a, kind: conv-shape, given: {input: 10x11, kernel: 3}}\n"
                        "  - {id: b, kind: conv-shape, given: {input: 10x11, kernel: 30}}\n")
    code = ("import sys\nfrom solver import pipeline\ncalls = []\nreal = pipeline.solve_files\n"
            "def counted(*args, **kwargs):\n    calls.append(1)\n    return real(*args, **kwargs)\n"
            "pipeline.solve_files = counted\nfrom solver.fast import main\n"
            f"try:\n    main(['solve', {str(problems)!r}])\nexcept SystemExit as end:\n    code = end.code\n"
            "print('CALLS', len(calls), code, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "CALLS 1 2" in done.stderr, done.stderr
    full = run(["solve", str(problems)], full=True)
    assert done.stdout == full.stdout and full.returncode == 2
