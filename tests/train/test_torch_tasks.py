"""Smoke runs of the PyTorch tasks on small real subsets, CPU only.

Each run is short (at most 2,000 images or 100,000 characters, one to three epochs) and
must beat chance by a stated margin: MNIST and CIFAR-10 have ten classes (chance 10 %). The margins sit well
below what the runs reach (noted beside each), so a slow or busy machine does not flip them,
while a broken model, loss or data path stays far below them.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from solver.train.config import TrainConfig  # noqa: E402
from solver.train.tasks import run_task  # noqa: E402

RUN_FILES = ("metrics.json", "config.json", "curves.png", "report.md", "model.pt")


@pytest.fixture(autouse=True)
def _quiet_cpu(monkeypatch):
    monkeypatch.setenv("DLSOLVE_QUIET", "1")
    # Other processes may hold the cores: one thread avoids OpenMP threads waiting on each other.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):  # never inherit a torchrun setting
        monkeypatch.delenv(name, raising=False)


def _run(tmp_path, data_dir, task, name="run", **options):
    extra = options.pop("extra", {})
    config = TrainConfig(task=task, device="cpu", data_dir=str(data_dir), out=str(tmp_path / name),
                         extra=extra, **options)
    return run_task(config)


def _check_run_folder(folder, metric):
    for name in RUN_FILES:
        assert (folder / name).is_file(), name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metric in metrics["final"]
    assert metrics["epochs"], "no epoch logged"
    assert "## Training curves" in (folder / "report.md").read_text()


def test_mnist_cnn_beats_chance_and_compares_with_baseline(tmp_path, data_dir):
    # 2,000 images, one epoch: about 88 % (improved) and 55 % (baseline) on the test set.
    final = _run(tmp_path, data_dir, "mnist-cnn", limit=2000, epochs=1)
    assert final["test_accuracy"] > 0.60
    assert final["baseline_test_accuracy"] > 0.30
    folder = tmp_path / "run"
    _check_run_folder(folder, "test_accuracy")
    assert (folder / "baseline.pt").is_file()
    report = (folder / "report.md").read_text()
    assert "## Baseline and improved model" in report and "| baseline |" in report
    state = torch.load(folder / "model.pt", weights_only=True)
    assert all(not key.startswith("module.") for key in state)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_mnist_rnn_beats_chance(tmp_path, data_dir, cell):
    # 2,000 images, one epoch of 31 batches: about 40 % with either cell.
    final = _run(tmp_path, data_dir, "mnist-rnn", limit=2000, epochs=1, cell=cell,
                 batch_size=64)
    assert final["test_accuracy"] > 0.25
    _check_run_folder(tmp_path / "run", "test_accuracy")
    state = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert state["rnn.weight_hh_l0"].shape[0] == (4 if cell == "lstm" else 3) * 128


def test_cifar10_cnn_beats_chance_on_the_real_subset(tmp_path, data_dir, cifar_dir):
    # 512 of the subset's 5,085 training images, 3 epochs: about 30 % on its 1,017 test images.
    final = _run(tmp_path, data_dir, "cifar10-cnn", limit=512, epochs=3,
                 cifar_dir=str(cifar_dir), batch_size=32)
    assert final["test_accuracy"] > 0.20
    assert "test_accuracy_no_tta" in final
    _check_run_folder(tmp_path / "run", "test_accuracy")


def test_shakespeare_lstm_learns_and_reports_a_sample(tmp_path, data_dir):
    # 100,000 characters, one epoch (125 batches of 16 x 50) of a small LSTM: about
    # 2.3 nats/char against a unigram baseline of 3.36.
    final = _run(tmp_path, data_dir, "shakespeare-lstm", limit=100_000, epochs=1,
                 batch_size=16, lr=1e-2, extra={"hidden": 128, "embedding": 32, "seq_len": 50,
                                                "warmup_steps": 10, "sample_length": 100})
    assert final["val_loss"] < final["unigram_val_loss"] - 0.6
    folder = tmp_path / "run"
    _check_run_folder(folder, "val_loss")
    assert (folder / "model.json").is_file()
    report = (folder / "report.md").read_text()
    assert "## Sample" in report and "ROMEO:" in report and "Unigram baseline" in report


TORCH_FILES, NUMPY_FILES = ("checkpoint.npz", "model.pt"), ("checkpoint.npz", "model.npz")
SMALL_LSTM = {"hidden": 32, "embedding": 8, "seq_len": 25, "sample_length": 20}
RESUMABLE = {
    # the classifiers' loop, with augmentation drawn from the epoch's generator, a weight
    # average and test-time augmentation
    "cifar10-cnn": ("cifar10-cnn", TORCH_FILES, {
        "limit": 256, "batch_size": 64, "extra": {"widths": [8, 16, 32], "ema": 0.9}}),
    # the language model's loop: streams at a random offset per epoch, dropout
    "shakespeare-lstm": ("shakespeare-lstm", TORCH_FILES, {
        "limit": 20_000, "batch_size": 8, "extra": SMALL_LSTM}),
    "shakespeare-lstm-numpy": ("shakespeare-lstm", NUMPY_FILES, {
        "limit": 20_000, "batch_size": 8, "backend": "numpy", "extra": SMALL_LSTM}),
}


@pytest.mark.parametrize("name", sorted(RESUMABLE))
def test_same_seed_same_run_and_resume_continues_it(tmp_path, data_dir, cifar_dir, name):
    task, (checkpoint_file, model_file), settings = RESUMABLE[name]

    def run(folder, resume=False, **extra):
        options = {k: v for k, v in settings.items() if k != "extra"}
        return _run(tmp_path, data_dir, task, name=folder, epochs=2, seed=3,
                    resume=resume, cifar_dir=str(cifar_dir),
                    extra={**settings["extra"], **extra}, **options)

    straight = run("straight")
    with pytest.raises(KeyboardInterrupt):
        run("resumed", interrupt_after=1)
    folder = tmp_path / "resumed"
    assert (folder / checkpoint_file).is_file() and not (folder / model_file).exists()
    resumed = run("resumed", resume=True)
    scores = [k for k, v in straight.items() if isinstance(v, float) and "time" not in k]
    assert "val_loss" in scores
    for key in scores:
        assert resumed[key] == pytest.approx(straight[key], abs=1e-6), key
    if model_file.endswith(".pt"):
        a = torch.load(tmp_path / "straight" / model_file, weights_only=True)
        b = torch.load(folder / model_file, weights_only=True)
        assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)
    epochs = json.loads((folder / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]


def test_device_choice():
    from solver.train.data import DataError
    from solver.train.torch_utils import amp_dtype_for, pick_device

    assert pick_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert pick_device("auto").type == "cpu"
        with pytest.raises(DataError, match="no CUDA GPU"):
            pick_device("cuda")
    cpu = torch.device("cpu")
    assert amp_dtype_for(cpu, "fp32") is None
    assert amp_dtype_for(cpu, "auto") is None
    assert amp_dtype_for(cpu, "bf16") in (None, torch.bfloat16)


def test_cli_runs_a_task_and_rejects_a_missing_gpu(tmp_path, data_dir):
    from typer.testing import CliRunner

    from solver.cli import build_app

    app, runner = build_app("train"), CliRunner()
    result = runner.invoke(app, ["train", "mnist-rnn", "--cell", "gru", "--limit", "256",
                                 "--epochs", "1", "--device", "cpu", "--data-dir",
                                 str(data_dir), "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert "test_accuracy" in result.output
    if not torch.cuda.is_available():
        result = runner.invoke(app, ["train", "mnist-rnn", "--device", "cuda", "--data-dir",
                                     str(data_dir), "--out", str(tmp_path / "gpu")])
        assert result.exit_code == 2
        assert "no CUDA GPU" in result.output
