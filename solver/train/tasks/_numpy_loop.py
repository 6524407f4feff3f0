"""The training loop shared by the NumPy tasks (not a task: the leading '_' hides it).

A model here is any object with the course's interface: forward(x) -> logits,
get_loss(labels), get_error(labels), backward(), step(), zero_grads(), plus `optimizer`
(whose lr the schedule sets) and state_dict() / load_state_dict().

Resuming gives the same end state as an uninterrupted run: the checkpoint holds the weights
and the optimiser's momentum, and each epoch's shuffling comes from its own generator,
seeded by (seed, epoch), so no random state has to be saved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np

from solver.output import atomic_path
from solver.train.runs import check_interrupt

# MNIST pixel mean and standard deviation over the training set (of values in [0, 1]).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
EVAL_BATCH = 1000


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 with zero mean and unit variance over MNIST."""
    return ((images.astype(np.float32) / 255.0) - MNIST_MEAN) / MNIST_STD


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def cosine_lr(base_lr: float, step: int, total_steps: int, warmup_steps: int = 0) -> float:
    """Cosine decay from base_lr to 0 over the run: large steps early, fine ones at the end.

    An optional linear warm-up ramps the rate up first: a network whose first steps are too
    large can get stuck at chance level, and the ramp lets a larger base rate be used.
    """
    warmup = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
    return warmup * base_lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))


def evaluate(model, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(mean loss, accuracy) over a whole set, in large batches (no training)."""
    loss_sum, errors = 0.0, 0.0
    for start in range(0, len(x), EVAL_BATCH):
        xb, yb = x[start:start + EVAL_BATCH], y[start:start + EVAL_BATCH]
        model.forward(xb)
        loss_sum += model.get_loss(yb) * len(yb)
        errors += model.get_error(yb) * len(yb)
    return loss_sum / len(x), 1.0 - errors / len(x)


def resume(run, model) -> tuple[int, float]:
    """Load the run's last checkpoint, if any, into the model and its optimiser; returns the
    first epoch still to train and the training seconds already spent."""
    checkpoint = run.load_checkpoint()
    if checkpoint is None:
        return 1, 0.0
    model.load_state_dict(checkpoint["model"])
    model.optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"] + 1, checkpoint["elapsed_s"]


def fit(run, model, train: tuple, evaluation: dict[str, tuple], config) -> dict:
    """Train for config.epochs with checkpoints after every epoch; returns the final metrics.

    `evaluation` maps a set name ('val', 'test') to its (x, y); every epoch logs the loss and
    accuracy of the first one, and the final metrics hold all of them.
    """
    x_train, y_train = train
    n_batches = math.ceil(len(x_train) / config.batch_size)
    total_steps = config.epochs * n_batches
    monitor = next(iter(evaluation))
    warmup_steps = int(config.extra.get("warmup_steps", 0))
    first_epoch, elapsed = resume(run, model)

    for epoch in range(first_epoch, config.epochs + 1):
        started = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        loss_sum, error_sum, seen = 0.0, 0.0, 0
        with run.progress(n_batches, f"epoch {epoch}/{config.epochs}") as bar:
            for b, index in enumerate(minibatches(len(x_train), config.batch_size, rng)):
                model.optimizer.lr = cosine_lr(config.lr, (epoch - 1) * n_batches + b, total_steps,
                                                warmup_steps)
                xb, yb = x_train[index], y_train[index]
                model.zero_grads()
                model.forward(xb)
                loss, error = model.get_loss(yb), model.get_error(yb)
                model.backward()
                model.step()
                loss_sum, error_sum, seen = loss_sum + loss * len(yb), error_sum + error * len(yb), seen + len(yb)
                bar.advance(loss=loss_sum / seen, acc=1 - error_sum / seen)
        val_loss, val_accuracy = evaluate(model, *evaluation[monitor])
        elapsed += time.perf_counter() - started
        run.log_epoch(epoch, train_loss=loss_sum / seen, train_accuracy=1 - error_sum / seen,
                      **{f"{monitor}_loss": val_loss, f"{monitor}_accuracy": val_accuracy},
                      elapsed_s=round(elapsed, 2))
        run.save_checkpoint({"epoch": epoch, "elapsed_s": elapsed, "model": model.state_dict(),
                             "optimizer": model.optimizer.state_dict()})
        check_interrupt(config, epoch)

    final = {}
    for name, (x, y) in evaluation.items():
        final[f"{name}_loss"], final[f"{name}_accuracy"] = evaluate(model, x, y)
    final["train_time_s"] = round(elapsed, 2)
    final["epochs"] = config.epochs
    with atomic_path(run.path("model.npz")) as temp:
        np.savez(temp, **model.state_dict())
    return final
