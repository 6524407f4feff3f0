"""What `dlsolve train` shows while it runs when its output is not a terminal: one line per
epoch as the epoch ends (validation accuracy included), and a report that lists only the
options that applied to the run."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from solver.train.report import render_report


def test_epoch_lines_arrive_while_training_through_a_pipe(data_dir, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.pop("DLSOLVE_QUIET", None)
    command = [sys.executable, "-m", "solver", "train", "mnist-mlp-numpy", "--epochs", "3", "--limit", "1000",
               "--data-dir", str(data_dir), "--out", str(tmp_path / "run")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    arrivals = []
    for line in process.stderr:  # a pipe: the progress bar is off, the epoch lines are not
        if line.startswith("epoch "):
            arrivals.append((time.monotonic(), line.strip()))
    process.wait(timeout=300)
    assert process.returncode == 0, process.stdout.read()
    assert [line.split()[1] for _, line in arrivals] == ["1/3", "2/3", "3/3"]
    for _, line in arrivals:
        assert "val_accuracy " in line and "%" in line and "train_loss " in line
    # Each line came when its epoch ended, not all at the exit.
    assert arrivals[-1][0] - arrivals[0][0] > 0.05
    assert "final metrics" in process.stdout.read()


def test_quiet_runs_print_no_epoch_lines(monkeypatch, capsys, tmp_path):
    from solver.train.runs import Run

    monkeypatch.delenv("DLSOLVE_QUIET", raising=False)  # the tests' fixture sets it
    run = Run.create(tmp_path / "r", "mnist-mlp-numpy", {"epochs": 2})
    run.log_epoch(1, train_loss=0.5, val_accuracy=0.9)
    assert capsys.readouterr().err == "epoch 1/2  train_loss 0.5  val_accuracy 90.0%\n"
    monkeypatch.setenv("DLSOLVE_QUIET", "1")
    run.log_epoch(2, train_loss=0.4, val_accuracy=0.95)
    assert capsys.readouterr().err == ""


def _options(report: str) -> list[str]:
    table = report.split("## Configuration", 1)[1].split("## Results", 1)[0]
    return [row.split("|")[1].strip() for row in table.splitlines() if row.startswith("| ")][1:]


def test_a_numpy_report_lists_no_torch_options():
    config = {"task": "mnist-mlp-numpy", "epochs": 2, "batch_size": 64, "lr": 0.1, "seed": 0,
              "device": "auto", "data_dir": None, "cifar_dir": None, "out": None, "limit": None,
              "resume": False, "full": False, "cell": "lstm", "backend": "torch", "extra": {"hidden": 512}}
    numpy_options = _options(render_report("mnist-mlp-numpy", config, [], {"test_accuracy": 0.9}, None, []))
    assert "device" not in numpy_options and "cell" not in numpy_options and "backend" not in numpy_options
    assert "cifar_dir" not in numpy_options and "full" not in numpy_options
    assert {"epochs", "batch_size", "lr", "seed", "limit", "hidden"} <= set(numpy_options)
    rnn = {**config, "task": "mnist-rnn"}
    rnn_options = _options(render_report("mnist-rnn", rnn, [], {"test_accuracy": 0.9}, None, []))
    assert "device" in rnn_options and "cell" in rnn_options and "backend" not in rnn_options
    text = {**config, "task": "shakespeare-lstm", "backend": "numpy"}
    text_options = _options(render_report("shakespeare-lstm", text, [], {"val_loss": 1.5}, None, []))
    assert "backend" in text_options and "device" not in text_options
