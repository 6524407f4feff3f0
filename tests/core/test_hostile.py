"""The hostile corpus (SPEC §6): problem files, claims, command lines and data a student could
hand a teaching assistant to damage the machine. Each case runs `dlsolve` in a subprocess
inside a temporary world — its working folder, a HOME of its own, a folder of files it must
not touch — with a wall-clock limit and an address-space limit, and asserts the exit code, the
message on stderr, no traceback, and that nothing outside the allowed output changed.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import resource
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from helpers import REPO

WALL_SECONDS = 60  # a case that needs more has hung; the point is "within seconds"
ADDRESS_SPACE = 6 * 1024 ** 3  # the whole process, shared libraries included


@dataclass
class World:
    """A temporary world: `work` is the working folder, `outside` and `home` must stay as they
    are (HOME points at `home`, so `~` expands there)."""

    root: Path

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file below `folder` (links as links) with a digest of its content."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path)] = "link:" + os.readlink(path)
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            found[str(path)] = "dir"
        else:
            found[str(path)] = "special"
    return found


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_dlsolve(world: World, args: list[str], stdin=None, extra_env: dict | None = None):
    env = {**os.environ, "HOME": str(world.home), "PYTHONPATH": str(REPO), "COLUMNS": "100",
           "OMP_NUM_THREADS": "1", "MPLCONFIGDIR": str(world.root / "matplotlib"), **(extra_env or {})}
    env.pop("DLSOLVE_DEBUG", None)
    return subprocess.run([sys.executable, "-c", "from solver.cli import main; main()", *args],
                          cwd=world.work, env=env, capture_output=True, timeout=WALL_SECONDS,
                          preexec_fn=_limit_child, stdin=stdin if stdin is not None else subprocess.DEVNULL)


@dataclass
class Case:
    name: str
    setup: Callable[[World], list[str]]  # makes the files, returns the command's arguments
    exit_code: int | tuple[int, ...]
    message: str | None  # a fragment of stderr (case-insensitive); None: no message asked for
    may_create: tuple[str, ...] = ()  # paths below work/ the command may create
    check: Callable[[World, subprocess.CompletedProcess], None] | None = None
    stdin: Callable[[World], object] | None = None


def _problem(kind: str, given: str, extra: str = "") -> str:
    return f"problems:\n  - id: p\n    kind: {kind}\n    given: {given}\n{extra}"


def _file(name: str, text: str | bytes, *args: str) -> Callable[[World], list[str]]:
    def setup(world: World) -> list[str]:
        world.write(name, text)
        return [arg.replace("{file}", name) for arg in (args or ("solve", "{file}"))]
    return setup


def _args(*args: str) -> Callable[[World], list[str]]:
    return lambda world: [arg.replace("{outside}", str(world.outside)) for arg in args]


def _laughs(depth: int = 9, width: int = 10) -> str:
    """Nested aliases that expand to width**depth values from a few hundred bytes."""
    lines = [f"a0: &a0 [{', '.join(['1'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, depth)]
    return "\n".join(lines) + "\n"


BOMB_GIVEN = ("problems:\n  - id: p\n    kind: conv-shape\n    given:\n      input: 10\n      kernel: 3\n"
              "      junk: &j0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
              + "".join(f"      j{i}: &j{i} [{', '.join([f'*j{i - 1}'] * 10)}]\n" for i in range(1, 9)))


def _bomb_under(key: str) -> str:
    """Nested aliases inside a problem's `answer:` or `vary:` block."""
    anchors = "".join(f"      k{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" for i in range(1, 9))
    return ("problems:\n  - id: p\n    kind: conv-shape\n    given: {input: 10, kernel: 3}\n"
            f"    {key}:\n      k0: &b0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + anchors)


def _rows_alias() -> str:
    row = "[" + ", ".join(["1"] * 1000) + "]"
    return ("problems:\n  - id: p\n    kind: backprop\n    given:\n      x: " + row + "\n      target: 1\n"
            "      loss: mse\n      layers:\n        - W: [&r " + row + ", " + ", ".join(["*r"] * 999) + "]\n"
            "          b: 0\n          activation: sigmoid\n")


def _deep_nesting() -> str:
    return _problem("conv-shape", "{input: " + "[" * 5000 + "1" + "]" * 5000 + ", kernel: 3}")


# --- the cases ----------------------------------------------------------------------------------

UNROLL, NET = "rnn-unroll", "network"

CASES: list[Case] = [
    # Writes anywhere: a figure file named by a problem is a plain name in the figures folder.
    Case("picture-absolute", _args("rnn-unroll", "--layers", "2", "--steps", "3", "--picture",
                                   "{outside}/x.svg"), 2, "plain file name"),
    Case("picture-dotdot", _file("p.yaml", _problem(UNROLL, "{layers: 1, steps: 2, picture: ../outside/x.svg}")),
         2, "plain file name"),
    Case("picture-home", _file("p.yaml", _problem(UNROLL, "{layers: 1, steps: 2, picture: ~/x.svg}")),
         2, "plain file name"),
    Case("picture-subfolder", _file("p.yaml", _problem(UNROLL, "{layers: 1, steps: 2, picture: sub/x.png}")),
         2, "plain file name"),
    Case("picture-dotdot-only", _file("p.yaml", _problem(UNROLL, "{layers: 1, steps: 2, picture: ..svg}")),
         2, "plain file name"),
    Case("picture-long-name", _file("p.yaml", _problem(UNROLL, "{layers: 1, steps: 2, picture: " + "a" * 300 + ".svg}")),
         2, "plain file name"),
    Case("diagram-absolute", _file("p.yaml", _problem(NET, "{input: 1x8x8, layers: 'conv 2 3', diagram: /tmp/x.svg}")),
         2, "plain file name"),
    Case("diagram-dotdot-check", _file("p.yaml", _problem(NET, "{input: 1x8x8, layers: 'conv 2 3', diagram: ../outside/x.svg}",
                                                       "    answer: {totals: 1}\n"), "check", "{file}"),
         2, "plain file name"),
    Case("diagram-home-command", _args("network", "1x8x8 | conv 2 3", "--diagram", "~/x.svg"), 2, "plain file name"),
    Case("diagram-backslash", _args("network", "1x8x8 | conv 2 3", "--diagram", "..\\x.svg"), 2, "plain file name"),
    Case("diagram-link-out", lambda world: (os.symlink(world.outside / "target.svg", world.work / "x.svg"),
                                            ["network", "1x8x8 | conv 2 3", "--diagram", "x.svg"])[1],
         2, "is a link"),
    Case("diagram-onto-input", _file("p.svg", _problem(NET, "{input: 1x8x8, layers: 'conv 2 3', diagram: p.svg}")),
         2, "problem files"),
    Case("two-problems-one-figure", _file("p.yaml", "problems:\n"
                                          "  - {id: a, kind: rnn-unroll, given: {layers: 1, steps: 2, picture: x.svg}}\n"
                                          "  - {id: b, kind: rnn-unroll, given: {layers: 1, steps: 3, picture: x.svg}}\n",
                                          "solve", "{file}", "-o", "out/key.md"),
         2, "another problem", may_create=("out",)),
    Case("figure-named-plainly-is-written", _args("network", "1x8x8 | conv 2 3", "--diagram", "lenet.svg", "--format", "json"),
         0, None, may_create=("lenet.svg",),
         check=lambda world, result: _assert((world.work / "lenet.svg").read_text().startswith("<?xml"))),

    # Hangs and memory.
    Case("laughs-in-given", _file("p.yaml", BOMB_GIVEN), 2, "aliases"),
    Case("laughs-in-check-claim", _file("p.yaml", _bomb_under("answer"), "check", "{file}"), 2, "aliases"),
    Case("laughs-in-vary", _file("p.yaml", _bomb_under("vary"), "vary", "{file}", "--count", "1", "--seed", "1",
                                 "-o", "out/"), 2, "aliases"),
    Case("laughs-top-level", _file("p.yaml", _laughs() + "problems: [*a8]\n"), 2, "aliases"),
    Case("aliased-rows-matrix", _file("p.yaml", _rows_alias()), 2, None),
    Case("deep-nesting", _file("p.yaml", _deep_nesting()), 2, "nest"),
    Case("tower-of-powers", _args("derive", "--expression", "x**x**x**x**x**x", "--wrt", "x"), 2, "tower"),
    Case("power-of-powers", _args("derive", "--expression", "((x**999)**999)**999", "--wrt", "x"), 2, "too large"),
    Case("huge-constant-power", _args("optimize", "--f", "9**9**9**9*x", "--x0", "1", "--lr", "0.1", "--steps", "1"),
         2, "too large"),
    Case("multinomial-blow-up", _args("derive", "--expression", "exp(exp(exp(x)))*(a+b+c+d)**300", "--wrt", "x"),
         2, "expand"),
    Case("claim-blow-up", _file("p.yaml", _problem("derive", "{expression: 'x**2', wrt: x}",
                                                   "    answer: {grad_x: 'exp(exp(exp(x)))*(a+b+c+d)**300'}\n"),
                                "check", "{file}"), (1, 2), None),
    Case("device-zero", _args("solve", "/dev/zero"), 2, "not a regular file"),
    Case("device-random-stdin", lambda world: ["solve", "-"], 2, "larger than", stdin=lambda world: open("/dev/zero", "rb")),
    Case("fifo-without-writer", lambda world: (os.mkfifo(world.work / "f.yaml"), ["solve", "f.yaml"])[1],
         2, "not a regular file"),
    Case("oversized-file", _file("big.yaml", "# " + "x" * 11_000_000 + "\n"), 2, "larger than"),
    Case("unroll-largest-markdown", _args("rnn-unroll", "--layers", "50", "--steps", "200", "--format", "md"), 0, None),
    Case("steps-absurd", _args("optimize", "--f", "x**2", "--x0", "1", "--lr", "0.1", "--steps", "1000000000"),
         2, "steps"),
    Case("size-absurd", _args("conv-shape", "--input", "1000000000000000000", "--kernel", "3"), 2, None),
    Case("time-limit", _file("p.yaml", _problem("derive", "{expression: 'x**2', wrt: x}"), "solve", "{file}",
                             "--time-limit", "0.001"), 2, "time limit"),
    Case("memory-limit-flag-bounds", _args("solve", "x.yaml", "--memory-limit", "1"), 2, "memory-limit"),

    # Internal errors that are bad input.
    Case("max-of-complex", _args("optimize", "--f", "max(x, sqrt(-1))", "--x0", "1", "--lr", "0.1", "--steps", "1"),
         2, "not defined"),
    Case("full-disk-stdout", lambda world: ["solve", str(REPO / "problems/examples/conv-shape-variants.yaml")],
         2, "no space left", stdin=None),
    Case("long-input-name", _args("solve", "a" * 5000 + ".yaml"), 2, "too long"),
    Case("long-output-name", _file("p.yaml", _problem("conv-shape", "{input: 10, kernel: 3}"), "solve", "{file}",
                                   "-o", "b" * 5000 + ".md"), 2, "too long"),
    Case("output-under-a-file", _file("p.yaml", _problem("conv-shape", "{input: 10, kernel: 3}"), "solve", "{file}",
                                      "-o", "p.yaml/key.md"), 2, "folder path is a file"),

    # Damaged files.
    Case("output-onto-device", _file("p.yaml", _problem("conv-shape", "{input: 10, kernel: 3}"), "solve", "{file}",
                                     "-o", "/dev/null"), 2, "not a regular file",
         check=lambda world, result: _assert(Path("/dev/null").is_char_device())),
    Case("output-onto-fifo", lambda world: (world.write("p.yaml", _problem("conv-shape", "{input: 10, kernel: 3}")),
                                            os.mkfifo(world.work / "out.md"),
                                            ["solve", "p.yaml", "-o", "out.md"])[2], 2, "not a regular file"),
    Case("output-onto-input", _file("p.yaml", _problem("conv-shape", "{input: 10, kernel: 3}"), "solve", "{file}",
                                    "-o", "p.yaml"), 2, "problem files"),
    Case("output-folder-onto-input", lambda world: (world.write("p.json", _problem("conv-shape", "{input: 10, kernel: 3}")),
                                                    ["solve", "p.json", "--format", "json", "-o", "./"])[1],
         2, "problem files"),
    Case("same-stems-keep-both", lambda world: (world.write("a/x.yaml", _problem("conv-shape", "{input: 10, kernel: 3}")),
                                                world.write("b/x.yaml", _problem("conv-shape", "{input: 12, kernel: 3}")),
                                                ["solve", "a", "b", "--format", "json", "-o", "keys/"])[2],
         0, None, may_create=("keys",),
         check=lambda world, result: _assert(sorted(p.relative_to(world.work / "keys").as_posix()
                                                    for p in (world.work / "keys").rglob("*.json")) == ["a/x.json", "b/x.json"])),
    Case("yaml-and-yml-keep-both", lambda world: (world.write("s/x.yaml", _problem("conv-shape", "{input: 10, kernel: 3}")),
                                                  world.write("s/x.yml", _problem("conv-shape", "{input: 12, kernel: 3}")),
                                                  ["solve", "s", "--format", "json", "-o", "keys/"])[2],
         0, None, may_create=("keys",),
         check=lambda world, result: _assert(len(list((world.work / "keys").rglob("*.json"))) == 2)),

    Case("html-key-from-hostile-notes", _file("p.yaml", 'title: "<script>alert(1)</script>"\nproblems:\n  - id: p\n'
                                          '    kind: conv-shape\n    notes: "<script>alert(2)</script> ![a](/etc/passwd) '
                                          '![b](../outside/keep.txt) ![c](http://example.com/x.png) <img src=x onerror=alert(3)>"\n'
                                          '    given: {input: 10, kernel: 3}\n', "solve", "{file}", "-o", "key.html"),
         0, None, may_create=("key.html",),
         check=lambda world, result: _assert(all(bad not in (world.work / "key.html").read_text() for bad in
                                                 ("<script", "<img src=x", "example.com/x.png", "base64,ZG8gbm90"))
                                             and "data:" not in (world.work / "key.html").read_text())),

    # Messages: one, on stderr, with a line.
    Case("kind-command-error-on-stderr", _args("conv-shape", "--input", "10", "--kernel", "30"), 2, "kernel",
         check=lambda world, result: _assert(result.stdout.strip() == b"")),
    Case("nul-byte-has-a-line", _file("p.yaml", "problems:\n  - id: p\n    kind: conv-shape\n    given: {input: 1\0}\n"),
         2, "p.yaml:4:"),
    Case("duplicate-key", _file("p.yaml", "problems:\n  - id: p\n    kind: conv-shape\n    given: {input: 10, kernel: 3}\n"
                                          "    given: {input: 12, kernel: 3}\n"), 2, "p.yaml:5:"),
    Case("duplicate-key-in-given", _file("p.yaml", "problems:\n  - id: p\n    kind: conv-shape\n    given:\n"
                                                   "      input: 10\n      input: 12\n      kernel: 3\n"), 2, "written twice"),
    Case("duplicate-top-key", _file("p.yaml", "title: a\ntitle: b\nproblems: []\n"), 2, "p.yaml:2:"),
    Case("batchnorm-zero-over-zero", _args("batchnorm", "--x", "[1, 1, 1]", "--eps", "0"), 2, "eps",
         check=lambda world, result: _assert(b"Warning" not in result.stderr)),
    Case("python-tag", _file("p.yaml", "problems: !!python/object/apply:os.system ['touch ../outside/pwned']\n"),
         2, "safe loader"),
    Case("expression-import", _args("optimize", "--f", "__import__('os').system('id')", "--x0", "1", "--lr", "1",
                                    "--steps", "1"), 2, None),
    Case("tab-indentation-line", _file("p.yaml", "problems:\n\t- id: p\n"), 2, "p.yaml:2:"),
    Case("unclosed-bracket-line", _file("p.yaml", "problems:\n  - id: p\n    given: {input: [1, 2\n"), 2, "p.yaml:"),
    Case("not-utf8", _file("p.yaml", b"problems:\n  - id: \xff\xfe\n"), 2, "UTF-8"),

    # Training data and checkpoints.
    Case("epochs-unbounded", _args("train", "mnist-mlp-numpy", "--epochs", "1000000000"), 2, "epochs"),
    Case("data-dir-is-a-file", _file("data", "x", "train", "mnist-mlp-numpy", "--data-dir", "data", "--epochs", "1"),
         2, "is a file"),
]


def _assert(condition: bool) -> None:
    assert condition


def _cifar_case(name: str, batch: object, meta: object | None = None, raw: bytes | None = None) -> Case:
    def setup(world: World) -> list[str]:
        folder = world.work / "data" / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        payload = raw if raw is not None else pickle.dumps(batch, protocol=2)
        for part in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
            (folder / part).write_bytes(payload)
        if meta is not None:
            (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
        return ["train", "cifar10-cnn", "--data-dir", "data", "--epochs", "1", "--limit", "10", "--device", "cpu",
                "--out", "run"]
    return Case(name, setup, 2, "cifar", may_create=("run",))


def _good_batch(labels) -> dict:
    import numpy as np

    return {b"data": np.zeros((4, 3072), dtype=np.uint8), b"labels": labels}


def _shared_reference_pickle() -> bytes:
    """A few hundred bytes that unpickle to lists holding one list 10**9 times over."""
    nested: list = [1] * 10
    for _ in range(8):
        nested = [nested] * 10
    return pickle.dumps({b"data": nested, b"labels": nested}, protocol=2)


def _declared_length_pickle() -> bytes:
    """BINBYTES8 declaring 2**62 bytes, in a file of a few bytes."""
    return b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 62) + b"abc."


CIFAR_CASES = [
    _cifar_case("cifar-string-labels", _good_batch(["cat", "dog", "cat", "dog"])),
    _cifar_case("cifar-label-names-number", _good_batch([0, 1, 2, 3]), meta={b"label_names": 5}),
    _cifar_case("cifar-declared-length", None, raw=_declared_length_pickle()),
    _cifar_case("cifar-shared-references", None, raw=_shared_reference_pickle()),
    _cifar_case("cifar-code-global", None, raw=b"cos\nsystem\n(S'touch ../outside/pwned'\ntR."),
    _cifar_case("cifar-random-bytes", None, raw=os.urandom(4096)),
]


def _mnist_bomb(world: World) -> list[str]:
    folder = world.work / "data" / "mnist"
    folder.mkdir(parents=True)
    header = b"\x00\x00\x08\x03" + struct.pack(">III", 60000, 28, 28)
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(header)
        for _ in range(200):  # 200 MB of zeros from a file of about 200 kB
            handle.write(bytes(1_000_000))
    for name in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x00"))
    return ["train", "mnist-mlp-numpy", "--data-dir", "data", "--epochs", "1", "--out", "run"]


def _resume_random(world: World) -> list[str]:
    run = world.work / "run"
    run.mkdir()
    (run / "checkpoint.npz").write_bytes(os.urandom(2048))
    data = REPO.parent / "shared" / "data"
    return ["train", "mnist-mlp-numpy", "--data-dir", str(data), "--epochs", "1", "--limit", "200",
            "--out", "run", "--resume"]


def _run_folder(info: dict, model: tuple[str, bytes]) -> Callable[[World], list[str]]:
    def setup(world: World) -> list[str]:
        import json

        run = world.work / "run"
        run.mkdir()
        (run / "model.json").write_text(json.dumps(info))
        (run / model[0]).write_bytes(model[1])
        return ["generate", "run", "--length", "10"]
    return setup


TORCH_INFO = {"backend": "torch", "vocabulary": "abc", "embedding": 4, "hidden": 8, "layers": 1}

TRAINING_CASES = CIFAR_CASES + [
    Case("generate-random-model", _run_folder(TORCH_INFO, ("model.pt", os.urandom(1024))), 2, "not a readable model"),
    Case("generate-pickle-model", _run_folder(TORCH_INFO, ("model.pt", b"cos\nsystem\n(S'touch ../outside/pwned'\ntR.")),
         2, "not a readable model"),
    Case("generate-huge-sizes", _run_folder({**TORCH_INFO, "hidden": 10 ** 9}, ("model.pt", b"")), 2, "hidden"),
    Case("generate-info-not-json", _run_folder({"backend": "numpy"}, ("model.npz", os.urandom(64))), 2, "vocabulary"),
    Case("generate-random-npz", _run_folder({"backend": "numpy", "vocabulary": "abc"}, ("model.npz", os.urandom(64))),
         2, "not a readable model"),
    Case("mnist-gzip-bomb", _mnist_bomb, 2, "mnist", may_create=("run",)),
    Case("resume-random-checkpoint", _resume_random, 2, "checkpoint", may_create=("run",)),
]

ALL_CASES = CASES + TRAINING_CASES


def test_the_corpus_is_large_and_names_are_unique():
    names = [case.name for case in ALL_CASES]
    assert len(names) >= 60 and len(set(names)) == len(names)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.name)
def test_hostile_input_is_harmless(case: Case, tmp_path: Path):
    world = World(tmp_path)
    for folder in (world.work, world.outside, world.home):
        folder.mkdir()
    (world.outside / "keep.txt").write_text("do not touch")
    (world.home / "keep.txt").write_text("do not touch")
    if case.name == "resume-random-checkpoint" and not (REPO.parent / "shared" / "data" / "mnist").is_dir():
        pytest.skip("../shared/data is not beside the repository")
    args = case.setup(world)
    before_outside, before_home = _snapshot(world.outside), _snapshot(world.home)
    before_work = _snapshot(world.work)
    stdin = case.stdin(world) if case.stdin else None
    if case.name == "full-disk-stdout":
        stdout_target = open("/dev/full", "wb")
        result = subprocess.run([sys.executable, "-c", "from solver.cli import main; main()", *args],
                                cwd=world.work, env={**os.environ, "PYTHONPATH": str(REPO), "HOME": str(world.home)},
                                stdout=stdout_target, stderr=subprocess.PIPE, timeout=WALL_SECONDS,
                                preexec_fn=_limit_child, stdin=subprocess.DEVNULL)
        stdout_target.close()
        result.stdout = b""
    else:
        result = run_dlsolve(world, args, stdin=stdin)
    if stdin is not None:
        stdin.close()
    stderr = result.stderr.decode("utf-8", "replace")
    codes = case.exit_code if isinstance(case.exit_code, tuple) else (case.exit_code,)
    assert result.returncode in codes, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    if case.message is not None:
        assert case.message.lower() in stderr.lower(), stderr
    if result.returncode == 2:
        assert "error" in stderr.lower()
    assert _snapshot(world.outside) == before_outside
    assert _snapshot(world.home) == before_home
    after_work = _snapshot(world.work)
    created = {path for path in after_work if path not in before_work}
    allowed = {str(world.work / name) for name in case.may_create}
    stray = {path for path in created if not any(path == a or path.startswith(a + os.sep) for a in allowed)}
    assert not stray, stray
    changed = {path for path in before_work if after_work.get(path) != before_work[path]}
    assert not changed, changed
    assert not list(world.work.rglob(".dlsolve-*")), "a temporary file was left behind"
    if case.check is not None:
        case.check(world, result)


def test_a_killed_write_leaves_no_temporary_file(tmp_path: Path):
    """SIGTERM (and SIGINT, SIGHUP) while a key is being written: the command ends, and no
    temporary file is left beside the key."""
    source = REPO / "problems" / "course" / "004-final-exam.yaml"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    code = ("import sys, time, solver.output as output\n"
            "original = output.write_atomic\n"
            "def slow(path, data):\n"
            "    with output.atomic_path(path) as temp:\n"
            "        with open(temp, 'wb') as handle:\n"
            "            handle.write(b'x' * 1000)\n"
            "            handle.flush()\n"
            "            print('writing', flush=True, file=sys.stderr)\n"
            "            time.sleep(60)\n"
            "output.write_atomic = slow\n"
            "from solver.cli import main\n"
            f"main(['solve', {str(source)!r}, '--format', 'html', '-o', {str(tmp_path / 'key.html')!r}])\n")
    for stop in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        process = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + WALL_SECONDS
        line = b""
        while b"writing" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
        assert b"writing" in line, process.stderr.read()
        assert list(tmp_path.glob(".dlsolve-*")), "the write had not started"
        process.send_signal(stop)
        process.wait(timeout=WALL_SECONDS)
        assert process.returncode != 0
        assert not list(tmp_path.glob(".dlsolve-*")), f"temporary file left after {stop.name}"
        assert not (tmp_path / "key.html").exists()
