"""Run folders: history, checkpoints, the final report, and the progress bar's quiet mode."""

from __future__ import annotations

import json

import numpy as np
import pytest

from solver import output as atomic
from solver.train.report import error_series, render_report
from solver.train.runs import Run, format_metrics, progress_enabled


@pytest.fixture
def run(tmp_path):
    return Run.create(tmp_path / "run", "demo-task", {"lr": 0.1, "epochs": 2}, resume=False)


def test_default_folder_is_runs_task_timestamp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = Run.create(None, "mnist-mlp-numpy", {}, resume=False)
    second = Run.create(None, "mnist-mlp-numpy", {}, resume=False)
    assert first.dir.parent.name == "runs" and first.dir.name.startswith("mnist-mlp-numpy-")
    assert first.dir != second.dir and second.dir.is_dir()
    assert json.loads((first.dir / "config.json").read_text()) == {}


def test_resume_without_out_continues_the_latest_run_of_the_task(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    earlier = Run.create(None, "demo", {}, resume=False)
    earlier.log_epoch(1, train_loss=1.0)
    resumed = Run.create(None, "demo", {}, resume=True)
    assert resumed.dir.resolve() == earlier.dir.resolve()
    assert resumed.epochs == [{"epoch": 1, "train_loss": 1.0}]


def test_log_epoch_rewrites_metrics_json(run):
    run.log_epoch(1, train_loss=np.float32(0.5), val_accuracy=np.float64(0.9))
    run.log_epoch(2, train_loss=0.25, val_accuracy=0.95)
    metrics = json.loads((run.dir / "metrics.json").read_text())
    assert metrics == {
        "task": "demo-task", "config": {"lr": 0.1, "epochs": 2},
        "epochs": [{"epoch": 1, "train_loss": 0.5, "val_accuracy": 0.9},
                   {"epoch": 2, "train_loss": 0.25, "val_accuracy": 0.95}],
        "final": {},
    }


def test_logging_an_epoch_again_drops_the_interrupted_attempt(run):
    for epoch in (1, 2, 3):
        run.log_epoch(epoch, train_loss=float(epoch))
    run.log_epoch(2, train_loss=20.0)
    assert run.epochs == [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 20.0}]


def test_checkpoint_round_trip_without_pickle(run, tmp_path):
    state = {"epoch": 3, "elapsed_s": 1.5, "name": "sgd",
             "model": {"0.W": np.arange(6, dtype=np.float32).reshape(2, 3)},
             "optimizer": {"velocity": {"0.W": np.ones(3)}, "steps": 7}}
    run.save_checkpoint(state)
    assert run.load_checkpoint() is None  # a fresh run ignores an old checkpoint
    resumed = Run.create(run.dir, "demo-task", {}, resume=True)
    loaded = resumed.load_checkpoint()
    assert loaded["epoch"] == 3 and isinstance(loaded["epoch"], int)
    assert loaded["elapsed_s"] == 1.5 and loaded["name"] == "sgd"
    np.testing.assert_array_equal(loaded["model"]["0.W"], state["model"]["0.W"])
    assert loaded["model"]["0.W"].dtype == np.float32
    np.testing.assert_array_equal(loaded["optimizer"]["velocity"]["0.W"], np.ones(3))
    assert loaded["optimizer"]["steps"] == 7
    # np.load(allow_pickle=False) inside load_checkpoint proves the file holds no pickles.
    with np.load(run.dir / "checkpoint.npz", allow_pickle=False) as stored:
        assert "model/0.W" in stored.files


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    assert Run.create(tmp_path / "new", "demo", {}, resume=True).load_checkpoint() is None


def test_finish_writes_report_curves_config_and_final_metrics(run):
    run.log_epoch(1, train_loss=0.6, train_accuracy=0.8, val_loss=0.5, val_accuracy=0.85)
    run.log_epoch(2, train_loss=0.3, train_accuracy=0.9, val_loss=0.35, val_accuracy=0.9)
    run.finish({"test_accuracy": 0.912, "val_loss": 0.35}, "model.npz",
               [("Model", "Two layers.")])
    metrics = json.loads((run.dir / "metrics.json").read_text())
    assert metrics["final"] == {"test_accuracy": 0.912, "val_loss": 0.35, "model_file": "model.npz"}
    assert (run.dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((run.dir / "config.json").read_text()) == {"lr": 0.1, "epochs": 2}
    report = (run.dir / "report.md").read_text()
    assert report.startswith("# Training run: demo-task\n")
    assert "| lr | 0.1 |" in report
    assert "| test_accuracy | 91.20 % |" in report
    assert "| 2 | 0.3 | 90.00 % | 0.35 | 90.00 % |" in report
    assert "![loss and error per epoch](curves.png)" in report
    assert report.rstrip().endswith("## Model\n\nTwo layers.")
    assert not [p for p in run.dir.iterdir() if p.name.startswith(".")]  # no temp files left


def test_finish_requires_a_headline_metric(run):
    with pytest.raises(ValueError, match="test_accuracy or val_loss"):
        run.finish({"train_loss": 0.1}, "model.npz")


def test_error_curves_come_from_accuracies():
    epochs = [{"epoch": 1, "val_accuracy": 0.9, "train_loss": 1.0},
              {"epoch": 2, "val_accuracy": 0.95, "train_loss": 0.5}]
    errors = error_series(epochs)
    assert list(errors) == ["val_error"]
    assert errors["val_error"] == pytest.approx([0.1, 0.05])


def test_report_without_epochs_has_no_curves():
    report = render_report("t", {}, [], {"val_loss": 1.25}, None, [])
    assert "curves" not in report and "| val_loss | 1.25 |" in report


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "a.json"
    atomic.write_json(target, {"old": True})
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as temp:
            temp.write_text("half")
            raise RuntimeError("crash while writing")
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_progress_is_quiet_under_dlsolve_quiet(run, capsys, monkeypatch):
    monkeypatch.setenv("DLSOLVE_QUIET", "1")
    assert not progress_enabled()
    with run.progress(3, "epoch 1") as bar:
        for _ in range(3):
            bar.advance(loss=0.5, acc=0.75)
    assert bar.completed == 3 and bar.metrics == {"loss": 0.5, "acc": 0.75}
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_live_metrics_text():
    assert format_metrics({"loss": 0.23141, "acc": 0.9312}) == "loss 0.2314  acc 93.1%"
