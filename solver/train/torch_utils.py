"""What every PyTorch task shares: device, threads and precision, seeding, checkpoints,
distributed training, and the epoch loop of the image classifiers.

Distributed training: started by `torchrun`, each process sees RANK, WORLD_SIZE and
LOCAL_RANK in its environment. The processes then form one group (gloo on CPU, nccl on CUDA),
each trains on its own share of every batch, DistributedDataParallel averages the gradients,
and only rank 0 writes the run folder. Without those variables everything runs in one process.

torch is imported inside the functions: a task module imports this file only when it trains,
so listing the tasks imports neither.
"""

from __future__ import annotations

import copy
import math
import os
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from solver.train.data import DataError
from solver.train.runs import ProgressBar, Run, check_interrupt

CHECKPOINT_FILE = "checkpoint.npz"  # a NumPy archive, not a pickle (solver.train.checkpoint)
EVAL_BATCH = 1000
# How often (in steps) the progress bar's loss / accuracy are read: reading a value from the
# GPU waits for it, so doing it every step would stall the device.
LIVE_EVERY = 10


class SetupError(DataError):
    """A run setting this machine cannot honour (e.g. --device cuda without a GPU).

    A subclass of DataError so that the train command reports it as a message, not a
    traceback; like a missing file, it is something the user fixes outside the program.
    """


# ----------------------------------------------------------------------------- environment


@dataclass
class Env:
    """Where and how this process trains."""

    device: Any  # torch.device
    amp_dtype: Any  # torch.bfloat16 / torch.float16, or None for float32
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    threads: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def autocast(self):
        """Mixed precision for the forward pass when chosen, else a no-op."""
        import torch

        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def describe(self) -> str:
        precision = {None: "float32"}.get(self.amp_dtype, str(self.amp_dtype).replace("torch.", ""))
        threads = f", {self.threads} thread{'s' if self.threads > 1 else ''}"
        where = f"{self.device}" + (threads if self.device.type == "cpu" else "")
        procs = f", {self.world_size} processes (DDP)" if self.distributed else ""
        return f"{where}, {precision}{procs}"


def distributed_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) as set by torchrun; (0, 1, 0) when not under it."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if "RANK" not in os.environ or world_size <= 1:
        return 0, 1, 0
    return int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0"))


def pick_device(choice: str, local_rank: int = 0):
    """'auto' takes the GPU when there is one; 'cuda' without one is an error, not a fallback."""
    import torch

    if choice not in ("auto", "cpu", "cuda"):
        raise SetupError(f"device must be auto, cpu or cuda, not {choice!r}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise SetupError("--device cuda: no CUDA GPU is visible to PyTorch (use --device cpu)")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def cpu_threads(local_world_size: int = 1, load: float | None = None) -> int:
    """Threads per process, by one rule: OMP_NUM_THREADS if set; else the free cores — those
    this process may run on, less the one-minute load average rounded down — shared among
    the processes of this machine; at least one.

    PyTorch's default (every core) oversubscribes a machine that other work keeps busy: its
    OpenMP threads wait for each other at every operation, and one descheduled thread stalls
    them all (a character-LSTM epoch ran past 100 s that one thread finished in 4 s)."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # no load average on this system: all cores count as free
            load = 0.0
    free = max(1, (cores or 1) - int(load))
    return max(1, free // max(1, local_world_size))


def amp_dtype_for(device, precision: str):
    """The autocast dtype for 'fp32' | 'bf16' | 'auto' on this device (None: float32).

    'auto': bfloat16 on a GPU that has it (float16 with loss scaling on older ones); float32
    on a CPU: on the CPU measured (AVX-512 with BF16, no AMX) bfloat16 autocast was never
    faster for these small networks (docs/training-pytorch.md); 'bf16' asks for it anyway.
    'bf16' on a CPU without bfloat16 instructions falls back to float32: emulated bfloat16
    is slower than float32 and no more accurate.
    """
    import torch

    if precision not in ("auto", "bf16", "fp32"):
        raise SetupError(f"precision must be auto, bf16 or fp32, not {precision!r}")
    if precision == "fp32":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "bf16" and torch.backends.mkldnn.is_available() and \
            torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return torch.bfloat16
    return None


def setup(config, precision: str = "auto") -> Env:
    """Prepare this process for training: device, threads, denormals, process group, seed."""
    import torch

    rank, world_size, local_rank = distributed_env()
    device = pick_device(config.device, local_rank)
    # Tiny values (denormals) are up to 100x slower on x86 and change nothing in training.
    torch.set_flush_denormal(True)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
    threads = cpu_threads(local_world)
    torch.set_num_threads(threads)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    seed_everything(config.seed)
    return Env(device, amp_dtype_for(device, precision), rank, world_size, local_rank, threads)


@contextmanager
def training_session(config, precision: str = "auto"):
    """The process set up for training (see `setup`) for the length of the block, then the
    process group left.

    After a block that ends normally, every process first waits for the others, so that none
    reports success before rank 0 has written the run folder. After an error there is no
    waiting: the other processes may never arrive (torchrun stops them).
    """
    import torch

    env = setup(config, precision)
    try:
        yield env
        if env.distributed:
            torch.distributed.barrier()
    finally:
        if env.distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def end_distributed_process(code: int = 0) -> None:
    """Under torchrun, flush the output and end this process at once, skipping the
    interpreter's clean-up; outside torchrun, do nothing.

    DistributedDataParallel keeps the process group alive until the process ends
    (destroy_process_group leaves gloo's worker threads running). A worker still releasing
    the last collective while the interpreter finalizes asks for the GIL, is stopped instead,
    and std::terminate aborts the process: a finished run reported as failed (SIGABRT, a few
    runs in a hundred on two busy cores). Every file of the run is written and closed by the
    time this is called, so the skipped clean-up has nothing left to do.
    """
    import sys

    if distributed_env()[1] <= 1:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and every GPU) and Python's random; the tasks draw from nothing else."""
    import random

    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def epoch_generator(seed: int, epoch: int):
    """The generator of one epoch's shuffling and augmentation: seeded by (seed, epoch), the
    same in every process and after a resume, so no random state needs to be saved."""
    import torch

    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def all_reduce_sum(env: Env, values: list[float]) -> list[float]:
    """Sum numbers over all processes (identity in a single process)."""
    if not env.distributed:
        return values
    import torch

    tensor = torch.tensor(values, dtype=torch.float64, device=env.device)
    torch.distributed.all_reduce(tensor)
    return tensor.tolist()


def wrap_ddp(model, env: Env):
    """The model as DistributedDataParallel when there are several processes, else itself."""
    if not env.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [env.device.index] if env.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


# ----------------------------------------------------------------------------- run folder


class NullRun:
    """What a process other than rank 0 holds in place of the run folder: it writes nothing."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)

    def path(self, name: str) -> Path:
        return self.dir / name

    def log_epoch(self, epoch: int, **metrics) -> None:
        pass

    def progress(self, total: int, description: str):
        return ProgressBar(total, description, enabled=False)

    def finish(self, *args, **kwargs) -> None:
        pass


def open_run(config, env: Env):
    """Rank 0 creates (or reopens) the run folder; the others learn its path from rank 0."""
    run = None
    if env.is_main:
        run = Run.create(config.out, config.task, config.as_dict(), config.resume)
    if not env.distributed:
        return run
    import torch.distributed as dist

    shared = [str(run.dir) if run is not None else None]
    dist.broadcast_object_list(shared, src=0)
    return run if run is not None else NullRun(Path(shared[0]))


def save_checkpoint(run, env: Env, state: dict) -> None:
    """The training state into the run folder, atomically, by rank 0 only; without pickle
    (solver.train.checkpoint), so that `--resume` never unpickles a file it finds."""
    if not env.is_main:
        return
    from solver.output import atomic_path

    from .checkpoint import save_tree

    with atomic_path(run.path(CHECKPOINT_FILE)) as temp:
        save_tree(temp, state)


def load_checkpoint(run, config, env: Env) -> dict | None:
    """The last checkpoint when resuming (every process reads the same file), else None."""
    path = run.path(CHECKPOINT_FILE)
    if not config.resume or not path.is_file():
        return None
    from .checkpoint import load_tree

    return load_tree(path, env.device)


def save_model(run, env: Env, model, name: str = "model.pt") -> str:
    """The model's state dict (no DDP 'module.' prefix) as a .pt file; returns its name."""
    if env.is_main:
        import torch

        from solver.output import atomic_path

        with atomic_path(run.path(name)) as temp:
            torch.save(unwrap(model).state_dict(), temp)
    return name


def unwrap(model):
    return getattr(model, "module", model)


# ----------------------------------------------------------------------------- classifiers


@dataclass
class Learner:
    """One model being trained by fit_classifiers, with its own optimiser and schedule.

    `name` prefixes its metrics ('baseline' gives baseline_val_accuracy); the main model has
    the empty name. `lr_factor(progress)` scales every group's initial lr, with progress the
    fraction of training done, in [0, 1).
    """

    name: str
    model: Any
    optimizer: Any
    lr_factor: Callable[[float], float]
    label_smoothing: float = 0.0
    augment: Callable | None = None  # (batch, generator) -> batch, training only
    predict: Callable | None = None  # (model, batch) -> logits for the final scores (e.g. TTA)
    clip_norm: float | None = None  # gradient-norm clipping, for recurrent nets
    ema_decay: float | None = None  # score a moving average of the weights (see update_ema)
    train_time_s: float = 0.0
    ddp: Any = None
    ema: Any = None
    base_lrs: list = field(default_factory=list)

    def key(self, metric: str) -> str:
        return f"{self.name}_{metric}" if self.name else metric

    @property
    def scored_model(self):
        """The model that is evaluated and saved: the weight average if kept, else the model."""
        return self.ema if self.ema is not None else self.model


def update_ema(ema, model, decay: float) -> None:
    """ema ← decay·ema + (1 − decay)·model, for weights and batch-norm statistics.

    Averaging the weights of the last few hundred steps smooths out the noise of the final
    SGD steps, like a lower learning rate would, without slowing the earlier progress.
    """
    import torch

    with torch.no_grad():
        for average, current in zip(ema.parameters(), model.parameters()):
            average.lerp_(current, 1.0 - decay)
        for average, current in zip(ema.buffers(), model.buffers()):
            if average.is_floating_point():
                average.lerp_(current, 1.0 - decay)
            else:
                average.copy_(current)


MIN_STEPS = 300  # a one-cycle schedule needs a few hundred steps to warm up, train and anneal


def fitted_batch_size(samples: int, epochs: int, default: int, smallest: int = 32) -> int:
    """A task's default batch, halved (down to `smallest`) until the run takes at least
    MIN_STEPS optimiser steps: a short run (`--epochs 1 --limit 10000`: 78 steps of 128) is
    otherwise over before its learning-rate schedule has done its work. Runs long enough
    keep the default; a --batch-size given on the command line is used as given."""
    batch = default
    while batch > smallest and max(1, samples // batch) * epochs < MIN_STEPS:
        batch //= 2
    return max(batch, min(smallest, default))


def batches_per_epoch(n: int, batch_size: int) -> int:
    """Full batches only: every process must take the same number of steps under DDP."""
    return max(1, n // batch_size)


def fit_classifiers(config, env: Env, run, learners: list[Learner], data: dict,
                    prepare: Callable) -> dict:
    """Train each learner for config.epochs on data['train'], checkpointing every epoch.

    data maps 'train', 'val', 'test' to (uint8 images, int64 labels) tensors on the device;
    prepare(uint8 batch) -> float batch does the normalisation (and memory format), so the
    data set stays small in memory. Each epoch logs the validation loss and accuracy of
    every learner; the final metrics add the test set. Returns the final metrics.
    """
    import torch

    n = len(data["train"][1])
    # --batch-size is the global batch; a training set smaller than it makes one batch.
    batch = max(1, min(config.batch_size, n) // env.world_size)
    steps = batches_per_epoch(n, batch * env.world_size)
    # Loss scaling guards float16 gradients against underflow; bfloat16 and float32 need none.
    scaler = torch.amp.GradScaler(env.device.type, enabled=env.amp_dtype == torch.float16)

    for learner in learners:
        learner.ddp = wrap_ddp(learner.model, env)
        learner.base_lrs = [group["lr"] for group in learner.optimizer.param_groups]
        if learner.ema_decay is not None:
            learner.ema = copy.deepcopy(learner.model).requires_grad_(False)
    first_epoch, last_val = 1, {}
    checkpoint = load_checkpoint(run, config, env)
    if checkpoint is not None:
        for learner in learners:
            saved = checkpoint["learners"][learner.name]
            learner.model.load_state_dict(saved["model"])
            learner.optimizer.load_state_dict(saved["optimizer"])
            if learner.ema is not None:
                learner.ema.load_state_dict(saved["ema"])
            learner.train_time_s = saved["train_time_s"]
        first_epoch = checkpoint["epoch"] + 1

    for epoch in range(first_epoch, config.epochs + 1):
        metrics = {}
        for learner in learners:
            started = time.perf_counter()
            train_loss, train_accuracy = train_epoch(config, env, run, learner, data["train"],
                                                     prepare, epoch, batch, steps, scaler)
            learner.train_time_s += time.perf_counter() - started
            val_loss, val_accuracy = evaluate(learner.scored_model, env, *data["val"], prepare)
            last_val[learner.name] = (val_loss, val_accuracy)
            metrics.update({learner.key("train_loss"): train_loss,
                            learner.key("train_accuracy"): train_accuracy,
                            learner.key("val_loss"): val_loss,
                            learner.key("val_accuracy"): val_accuracy,
                            learner.key("time_s"): round(learner.train_time_s, 2)})
        run.log_epoch(epoch, **metrics)
        save_checkpoint(run, env, {"epoch": epoch, "learners": {
            learner.name: {"model": learner.model.state_dict(),
                           "optimizer": learner.optimizer.state_dict(),
                           "ema": learner.ema.state_dict() if learner.ema is not None else None,
                           "train_time_s": learner.train_time_s} for learner in learners}})
        check_interrupt(config, epoch)

    final = {}
    for learner in sorted(learners, key=lambda learner: learner.name != ""):  # main model first
        for split in ("val", "test"):
            if split == "val" and learner.predict is None and learner.name in last_val:
                loss, accuracy = last_val[learner.name]  # the model has not changed since
            elif split == "test" and data["test"] is data["val"]:  # one set in two roles
                loss, accuracy = (final[learner.key("val_loss")],
                                  final[learner.key("val_accuracy")])
            else:
                loss, accuracy = evaluate(learner.scored_model, env, *data[split], prepare,
                                          learner.predict)
            final[learner.key(f"{split}_loss")] = loss
            final[learner.key(f"{split}_accuracy")] = accuracy
        final[learner.key("train_time_s")] = round(learner.train_time_s, 2)
    final["epochs"] = config.epochs
    final["train_samples"] = n
    final["processes"] = env.world_size
    return final


def train_epoch(config, env: Env, run, learner: Learner, train: tuple, prepare: Callable,
                epoch: int, batch: int, steps: int, scaler) -> tuple[float, float]:
    """One epoch of one learner; returns its mean training loss and accuracy (all processes)."""
    import torch
    import torch.nn.functional as F

    x_train, y_train = train
    generator = epoch_generator(config.seed, epoch)
    # Dropout draws from torch's global generator: seed it per epoch and process.
    torch.manual_seed(config.seed * 1_000_003 + epoch * 101 + env.rank)
    order = torch.randperm(len(y_train), generator=generator)
    total_steps = config.epochs * steps
    optimizer = learner.optimizer
    learner.model.train()
    loss_sum = correct = seen = 0.0
    live_loss = torch.zeros((), device=env.device)
    live_correct = torch.zeros((), device=env.device)
    with run.progress(steps, f"{learner.name or 'model'} epoch {epoch}/{config.epochs}") as bar:
        for step in range(steps):
            done = (epoch - 1) * steps + step
            for group, base in zip(optimizer.param_groups, learner.base_lrs):
                group["lr"] = base * learner.lr_factor(done / total_steps)
            start = step * batch * env.world_size + env.rank * batch  # this process's share
            index = order[start:start + batch].to(env.device)
            xb, yb = prepare(x_train[index]), y_train[index]
            if learner.augment is not None:
                xb = learner.augment(xb, generator)
            with env.autocast():
                logits = learner.ddp(xb)
            loss = F.cross_entropy(logits.float(), yb, label_smoothing=learner.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if learner.clip_norm is not None:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(learner.model.parameters(), learner.clip_norm)
            scaler.step(optimizer)
            scaler.update()
            if learner.ema is not None:
                # A short average early on, when the weights still move fast.
                decay = min(learner.ema_decay, (1 + done) / (10 + done))
                update_ema(learner.ema, learner.model, decay)
            live_loss += loss.detach() * len(yb)
            live_correct += (logits.argmax(1) == yb).sum()
            seen += len(yb)
            if (step + 1) % LIVE_EVERY == 0 or step + 1 == steps:
                loss_sum, correct = live_loss.item(), live_correct.item()
                bar.advance(step % LIVE_EVERY + 1, loss=loss_sum / seen, acc=correct / seen)
    loss_sum, correct, seen = all_reduce_sum(env, [loss_sum, correct, seen])
    return loss_sum / seen, correct / seen


def evaluate(model, env: Env, x, y, prepare: Callable,
             predict: Callable | None = None) -> tuple[float, float]:
    """(mean loss, accuracy) over a whole set; each process scores its own slice.

    predict(model, batch) -> logits replaces model(batch) (test-time augmentation); the
    per-epoch validation uses the plain model, which is cheaper.
    """
    import torch
    import torch.nn.functional as F

    predict = predict or (lambda m, xb: m(xb))
    share = math.ceil(len(y) / env.world_size)
    lo, hi = env.rank * share, min(len(y), (env.rank + 1) * share)
    loss_sum = correct = 0.0
    model.eval()
    with torch.no_grad(), env.autocast():
        for start in range(lo, hi, EVAL_BATCH):
            part = slice(start, min(hi, start + EVAL_BATCH))
            xb, yb = prepare(x[part]), y[part]
            logits = predict(model, xb).float()
            loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
    model.train()
    loss_sum, correct, count = all_reduce_sum(env, [loss_sum, correct, float(max(0, hi - lo))])
    return loss_sum / count, correct / count


def to_device_tensors(arrays: dict, device) -> dict:
    """{'train': (images, labels), ...} numpy arrays as torch tensors on the device."""
    import numpy as np
    import torch

    def tensor(array):
        # np.require copies read-only views (the decoded files) that torch will not share.
        return torch.from_numpy(np.require(array, requirements=("C", "W"))).to(device)

    return {name: (tensor(x), tensor(y)) for name, (x, y) in arrays.items()}


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
