"""The PyTorch tasks under torchrun: two CPU processes, gloo, DistributedDataParallel.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; the task must form the process group itself,
split each batch between the two processes, and let only rank 0 write the run folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():
    pytest.skip("this PyTorch build has no torch.distributed", allow_module_level=True)


def _torchrun(cwd, *args, timeout=240):
    env = {**os.environ, "DLSOLVE_QUIET": "1", "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "solver.cli", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_two_cpu_processes_train_one_model(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("DLSOLVE_QUIET", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "ddp"
    result = _torchrun(tmp_path, "train", "mnist-rnn", "--cell", "gru", "--limit", "1024",
                       "--epochs", "2", "--batch-size", "64", "--device", "cpu",
                       "--data-dir", str(data_dir), "--out", str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    final = metrics["final"]
    assert final["processes"] == 2
    # 1,024 images, two epochs of a GRU: about 45 %; chance is 10 %.
    assert final["test_accuracy"] > 0.25
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert (out / "model.pt").is_file() and (out / "report.md").is_file()
    # Only rank 0 wrote: the final table is printed once, and no default runs/ folder appeared.
    assert result.stdout.count("final metrics") == 1
    assert not (tmp_path / "runs").exists()

    # The GRU has no batch norm, so two processes with 32 images each and averaged gradients
    # take the same steps as one process with batches of 64: the same model, up to rounding.
    from solver.train.config import TrainConfig
    from solver.train.tasks import run_task

    single = run_task(TrainConfig(task="mnist-rnn", cell="gru", limit=1024, epochs=2,
                                  batch_size=64, device="cpu", data_dir=str(data_dir),
                                  out=str(tmp_path / "single")))
    assert single["processes"] == 1
    assert final["test_loss"] == pytest.approx(single["test_loss"], abs=1e-3)


def test_a_torchrun_process_ends_with_its_output_flushed_and_no_clean_up(tmp_path):
    # The interpreter's clean-up is where gloo's worker threads could abort a finished run,
    # so a process of a process group skips it; what it printed must still arrive.
    script = ("import atexit, sys\n"
              "from solver.train.torch_utils import end_distributed_process\n"
              "atexit.register(lambda: print('clean-up ran'))\n"
              "print('the final table', end='')\n"
              "end_distributed_process(int(sys.argv[1]))\n"
              "print(' and after it')\n")
    inside = {**os.environ, "RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}
    ended = subprocess.run([sys.executable, "-c", script, "3"], env=inside,
                           capture_output=True, text=True, timeout=60)
    assert (ended.returncode, ended.stdout) == (3, "the final table")

    outside = {name: value for name, value in os.environ.items()
               if name not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    alone = subprocess.run([sys.executable, "-c", script, "3"], env=outside,
                           capture_output=True, text=True, timeout=60)
    assert (alone.returncode, alone.stdout) == (0, "the final table and after it\nclean-up ran\n")
