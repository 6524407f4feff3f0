"""The NumPy training tasks on real MNIST (small subsets), resume, and the train command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from solver.train.commands import register
from solver.train.config import TrainConfig
from solver.train.tasks import UnknownTaskError, load_task, run_task, task_names


@pytest.fixture
def cli():
    app = typer.Typer()
    register(app)
    return lambda *args: CliRunner().invoke(app, [str(a) for a in args])


def _train(task, data_dir, out, **options):
    extra = options.pop("extra", {})
    return run_task(TrainConfig(task=task, data_dir=str(data_dir), out=str(out), extra=extra, **options))


# ----------------------------------------------------------------------------- learning


def test_mlp_learns_mnist_from_5000_images(data_dir, tmp_path):
    final = _train("mnist-mlp-numpy", data_dir, tmp_path / "mlp", limit=5000, epochs=2)
    assert final["test_accuracy"] >= 0.90
    assert final["val_accuracy"] >= 0.90
    metrics = json.loads((tmp_path / "mlp" / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert metrics["epochs"][1]["train_loss"] < metrics["epochs"][0]["train_loss"]
    assert metrics["final"]["test_accuracy"] == final["test_accuracy"]
    with np.load(tmp_path / "mlp" / "model.npz") as model:
        assert model["0.W"].shape == (784, 512) and model["0.W"].dtype == np.float32


def test_lenet_learns_from_1000_images(data_dir, tmp_path):
    final = _train("mnist-lenet-numpy", data_dir, tmp_path / "lenet", limit=1000, epochs=4)
    # The exercise's subset: 500 test images, and no validation set.
    assert final["test_accuracy"] >= 0.80
    assert "val_accuracy" not in final
    report = (tmp_path / "lenet" / "report.md").read_text()
    assert "conv 6 5 pad 2" in report and "| limit | 1000 |" in report


def test_mlp_course_interface_on_a_toy_problem():
    """forward / get_loss / backward / step / zero_grads / get_error drive the loss down."""
    from solver.train.tasks.mnist_mlp_numpy import MLP

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = MLP([784, 32, 2], lr=0.05, momentum=0.9)
    losses = []
    for _ in range(30):
        model.zero_grads()
        model.forward(x)
        losses.append(model.get_loss(y))
        model.backward()
        model.step()
    model.forward(x)
    assert losses[-1] < 0.5 * losses[0]
    assert model.get_error(y) == 0.0


# ----------------------------------------------------------------------------- resume


def test_interrupted_run_resumes_to_the_same_end_state(data_dir, tmp_path):
    options = dict(limit=1500, epochs=3, seed=7, batch_size=100)
    straight = _train("mnist-mlp-numpy", data_dir, tmp_path / "straight", **options)

    with pytest.raises(KeyboardInterrupt):
        _train("mnist-mlp-numpy", data_dir, tmp_path / "broken", **options,
               extra={"interrupt_after": 1})
    broken = json.loads((tmp_path / "broken" / "metrics.json").read_text())
    assert [e["epoch"] for e in broken["epochs"]] == [1] and broken["final"] == {}
    assert not (tmp_path / "broken" / "model.npz").exists()

    resumed = _train("mnist-mlp-numpy", data_dir, tmp_path / "broken", **options, resume=True)
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    assert resumed["val_loss"] == straight["val_loss"]
    with np.load(tmp_path / "straight" / "model.npz") as a, np.load(tmp_path / "broken" / "model.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    history = lambda name: [{k: v for k, v in e.items() if k != "elapsed_s"}  # noqa: E731
                            for e in json.loads((tmp_path / name / "metrics.json").read_text())["epochs"]]
    assert history("broken") == history("straight")


def test_killed_run_resumes_to_the_same_end_state(data_dir, tmp_path):
    """A real kill: `dlsolve train` is stopped with SIGKILL once its first checkpoint is on disk,
    then resumed with --resume; it ends exactly where an uninterrupted run ends."""
    import signal
    import time

    def command(out, *extra):
        return [sys.executable, "-m", "solver.cli", "train", "mnist-mlp-numpy", "--data-dir", str(data_dir),
                "--limit", "20000", "--epochs", "4", "--seed", "3", "--out", str(out), *extra]

    env = {**os.environ, "DLSOLVE_QUIET": "1", "OPENBLAS_NUM_THREADS": "1"}
    straight = subprocess.run(command(tmp_path / "straight"), env=env, capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(command(killed_dir), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (killed_dir / "checkpoint.npz").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not (killed_dir / "model.npz").exists()  # it really stopped before the end

    resumed = subprocess.run(command(killed_dir, "--resume"), env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    final = lambda name: json.loads((tmp_path / name / "metrics.json").read_text())["final"]  # noqa: E731
    assert final("killed")["test_accuracy"] == final("straight")["test_accuracy"]
    assert final("killed")["val_loss"] == final("straight")["val_loss"]
    with np.load(tmp_path / "straight" / "model.npz") as a, np.load(killed_dir / "model.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


def test_a_different_seed_gives_a_different_run(data_dir, tmp_path):
    a = _train("mnist-mlp-numpy", data_dir, tmp_path / "a", limit=500, epochs=1, seed=1)
    b = _train("mnist-mlp-numpy", data_dir, tmp_path / "b", limit=500, epochs=1, seed=2)
    assert a["val_loss"] != b["val_loss"]


# ----------------------------------------------------------------------------- tasks


def test_tasks_are_discovered_by_module_name():
    names = task_names()
    assert {"mnist-mlp-numpy", "mnist-lenet-numpy"} <= set(names)
    assert names == sorted(names) and not any(n.startswith("-") for n in names)
    for name in ("mnist-mlp-numpy", "mnist-lenet-numpy"):
        module = load_task(name)
        assert module.SUMMARY and callable(module.train)
        assert {"epochs", "batch_size", "lr"} <= set(module.DEFAULTS)


def test_unknown_task_suggests_the_closest():
    with pytest.raises(UnknownTaskError, match="Did you mean 'mnist-mlp-numpy'"):
        load_task("mnist-mlp-numpi")


def test_config_defaults_fill_only_what_was_not_given():
    config = TrainConfig(task="x", epochs=3, extra={"hidden": [10]})
    filled = config.with_defaults({"epochs": 12, "lr": 0.1, "hidden": [512], "momentum": 0.9})
    assert (filled.epochs, filled.lr) == (3, 0.1)
    assert filled.extra == {"hidden": [10], "momentum": 0.9}
    assert filled.with_defaults({"epochs": 1}) == filled


def test_lenet_full_mode_has_its_own_defaults():
    lenet = load_task("mnist-lenet-numpy")
    assert lenet.defaults_for(TrainConfig(task="mnist-lenet-numpy", full=True))["epochs"] \
        != lenet.defaults_for(TrainConfig(task="mnist-lenet-numpy"))["epochs"]


# ----------------------------------------------------------------------------- commands


def test_train_command_writes_a_complete_run_folder(cli, data_dir, tmp_path):
    out = tmp_path / "cli-run"
    result = cli("train", "mnist-mlp-numpy", "--limit", 1000, "--epochs", 1, "--seed", 3,
                 "--data-dir", data_dir, "--out", out)
    assert result.exit_code == 0, result.output
    assert "test_accuracy" in result.output
    assert {p.name for p in out.iterdir()} >= {
        "metrics.json", "curves.png", "model.npz", "config.json", "report.md", "checkpoint.npz"}
    config = json.loads((out / "config.json").read_text())
    assert config["limit"] == 1000 and config["seed"] == 3 and config["epochs"] == 1


def test_unknown_task_exits_2_listing_the_tasks(cli):
    result = cli("train", "mnist-perceptron")
    assert result.exit_code == 2
    assert "unknown task 'mnist-perceptron'" in result.output
    assert "mnist-mlp-numpy" in result.output and "Traceback" not in result.output


def test_missing_data_exits_2_without_traceback(cli, tmp_path):
    result = cli("train", "mnist-mlp-numpy", "--data-dir", tmp_path)
    assert result.exit_code == 2
    assert "train-images-idx3-ubyte.gz: file not found" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_interrupt_exits_with_a_resume_hint(cli, monkeypatch):
    def interrupted(config):
        raise KeyboardInterrupt

    monkeypatch.setattr("solver.train.tasks.run_task", interrupted)
    result = cli("train", "mnist-mlp-numpy", "--out", "runs/x")
    assert result.exit_code == 130
    assert "dlsolve train mnist-mlp-numpy --resume --out runs/x" in result.output


def test_generate_passes_its_options_to_the_sampler(cli, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("solver.train.generate")
    fake.generate = lambda run_dir, prompt, length, temperature, seed: (
        calls.append((run_dir, prompt, length, temperature, seed)) or "ROMEO: hello")
    monkeypatch.setitem(sys.modules, "solver.train.generate", fake)
    result = cli("generate", tmp_path, "--prompt", "ROMEO:", "--length", 20,
                 "--temperature", 0.5, "--seed", 4)
    assert result.exit_code == 0 and "ROMEO: hello" in result.output
    assert calls == [(tmp_path, "ROMEO:", 20, 0.5, 4)]
    assert cli("generate", tmp_path / "missing").exit_code == 2


@pytest.mark.parametrize("command", ["train", "generate", "gradcheck"])
def test_every_command_help_has_an_example(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0 and f"Example: dlsolve {command}" in result.output


def test_train_help_lists_the_tasks(cli):
    assert "mnist-lenet-numpy" in cli("train", "--help").output


def test_registering_the_commands_imports_no_heavy_library():
    code = ("import sys, typer; from solver.train.commands import register; "
            "register(typer.Typer()); "
            "print(sorted(m for m in ('numpy', 'torch', 'matplotlib', 'pooch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_numpy_tasks_run_blas_on_one_thread_unless_told_otherwise():
    code = ("import os, typer; from typer.testing import CliRunner; "
            "from solver.train.commands import register; app = typer.Typer(); register(app); "
            "CliRunner().invoke(app, ['train', 'no-such-numpy']); "
            "print(os.environ.get('OPENBLAS_NUM_THREADS'))")

    def blas_threads(env_value):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
        if env_value is not None:
            env["OPENBLAS_NUM_THREADS"] = env_value
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, env=env).stdout.strip()

    assert blas_threads(None) == "1"
    assert blas_threads("2") == "2"


def test_negative_seed_is_a_usage_error(cli):
    result = cli("train", "mnist-mlp-numpy", "--seed", "-1")
    assert result.exit_code == 2 and "--seed" in result.output


def test_a_run_folder_that_cannot_be_written_is_one_message(cli, data_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = cli("train", "mnist-mlp-numpy", "--data-dir", data_dir, "--limit", 100, "--epochs", 1,
                 "--out", blocker / "run")
    assert result.exit_code == 2 and "cannot write" in result.output
