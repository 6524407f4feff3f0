"""Commands of the training module: `train`, `generate` and `gradcheck`.

Only typer is imported here: numpy, torch and matplotlib are imported inside the command
bodies, so that every other dlsolve command starts without them.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

# Exit codes shared with the rest of the program: 1 check failed, 2 bad input.
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Cell(str, Enum):
    lstm = "lstm"
    gru = "gru"


class Backend(str, Enum):
    torch = "torch"
    numpy = "numpy"


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def train(
    task: str = typer.Argument(..., help="Task name, e.g. mnist-mlp-numpy (see the list below)."),
    epochs: Optional[int] = typer.Option(None, min=1, max=10_000, help="Training epochs (task default if omitted)."),
    batch_size: Optional[int] = typer.Option(None, min=1, max=65_536, help="Mini-batch size."),
    lr: Optional[float] = typer.Option(None, min=0.0, max=1000.0, help="Learning rate."),
    seed: int = typer.Option(0, min=0, max=2**32 - 1, help="Random seed: the same seed gives the same run."),
    device: Device = typer.Option(Device.auto, help="PyTorch tasks: where to train."),
    data_dir: Optional[Path] = typer.Option(
        None, help="Folder with mnist/, cifar-10-batches-py/, tinyshakespeare.txt "
                   "(default: $DLSOLVE_DATA, else downloaded once into the user cache)."),
    cifar_dir: Optional[Path] = typer.Option(None, help="Folder of the CIFAR-10 python batches."),
    out: Optional[Path] = typer.Option(None, help="Run folder (default runs/TASK-TIMESTAMP)."),
    limit: Optional[int] = typer.Option(None, min=1, max=100_000_000, help="Use only the first N training samples."),
    resume: bool = typer.Option(False, help="Continue from the run folder's last checkpoint."),
    full: bool = typer.Option(False, help="mnist-lenet-numpy: the full 50k split, not 2,000 / 500; "
                                          "cifar10-cnn: the full-size (GPU) recipe."),
    cell: Cell = typer.Option(Cell.lstm, help="Recurrent tasks: LSTM or GRU cell."),
    backend: Backend = typer.Option(Backend.torch, help="shakespeare-lstm: torch or numpy."),
) -> None:
    """Run one of the course's programming tasks and write a run folder.

    The run folder holds metrics.json, curves.png, the model, config.json and report.md.

    Example: dlsolve train mnist-mlp-numpy --epochs 10 --seed 1 --out runs/mlp
    """
    if task.endswith("-numpy") or backend is Backend.numpy:
        _one_blas_thread()
    from solver.train.config import TrainConfig
    from solver.train.data import DataError
    from solver.train.tasks import UnknownTaskError, run_task

    config = TrainConfig(
        task=task, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device.value,
        data_dir=str(data_dir) if data_dir else None,
        cifar_dir=str(cifar_dir) if cifar_dir else None,
        out=str(out) if out else None, limit=limit, resume=resume, full=full,
        cell=cell.value, backend=backend.value,
    )
    try:
        final = run_task(config)
    except (UnknownTaskError, DataError) as error:
        raise _fail(str(error))
    except OSError as error:  # a run folder that cannot be written (no permission, a full disk)
        where = f" {error.filename}" if error.filename else ""
        raise _fail(f"cannot write{where}: {error.strerror or error}")
    except KeyboardInterrupt:
        hint = f" --out {out}" if out else ""
        raise _fail(f"interrupted; continue with: dlsolve train {task} --resume{hint}",
                    EXIT_INTERRUPTED)
    from solver.train.torch_utils import distributed_env, end_distributed_process

    if distributed_env()[0] == 0:  # under torchrun only the first process reports
        _print_final(task, final)
    end_distributed_process()


def _one_blas_thread() -> None:
    """Run NumPy's BLAS on one thread unless the user chose otherwise.

    The NumPy tasks multiply small matrices (a batch of 64 to 128 rows), where a second
    thread gains little; on a machine whose cores are already busy, OpenBLAS threads wait on
    each other and the MLP took 4 times as long with two threads as with one. One thread also
    keeps results identical from machine to machine, since the summation order of a BLAS
    product depends on its thread count. The variable is read when numpy is first imported,
    which in this command happens only after this point.
    """
    import os
    import sys

    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _print_final(task: str, final: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from solver.train.report import format_value

    table = Table(title=f"{task}: final metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in final.items():
        table.add_row(name, format_value(name, value))
    Console().print(table)


def _train_help_epilog() -> str:
    from solver.train.tasks import task_names

    return "Tasks: " + ", ".join(task_names())


def generate(
    run_dir: Path = typer.Argument(..., help="Folder of a finished shakespeare-lstm run."),
    prompt: str = typer.Option("ROMEO:", help="Text the sample starts from."),
    length: int = typer.Option(500, min=1, max=1_000_000, help="Number of characters to generate."),
    temperature: float = typer.Option(0.8, min=1e-6, max=100.0, help="Below 1: safer; above 1: wilder."),
    seed: Optional[int] = typer.Option(None, min=0, max=2**32 - 1, help="Random seed for a repeatable sample."),
) -> None:
    """Sample text from a trained character model.

    Example: dlsolve generate runs/shakespeare-lstm-20250101-120000 --prompt "ROMEO:" --length 300
    """
    from solver.train.data import DataError
    from solver.train.generate import generate as sample

    if not run_dir.is_dir():
        raise _fail(f"run folder {run_dir} does not exist")
    try:
        text = sample(run_dir, prompt, length, temperature, seed)
    except (DataError, FileNotFoundError) as error:
        raise _fail(str(error))
    typer.echo(text)


def gradcheck(
    layer: Optional[str] = typer.Argument(None, help="One layer (e.g. conv2d); all if omitted."),
) -> None:
    """Check every NumPy layer's backward pass against float64 finite differences.

    Prints the relative error per layer and parameter; exits 1 if any is 1e-7 or more.

    Example: dlsolve gradcheck conv2d
    """
    from rich.console import Console
    from rich.table import Table

    from solver.nn.gradcheck import TOLERANCE, UnknownLayerError, check_layers

    try:
        results = check_layers(layer)
    except UnknownLayerError as error:
        raise _fail(str(error))
    table = Table(title="gradient check, float64",
                  caption=f"centred differences; pass: relative error < {TOLERANCE:g}")
    for column, justify in (("layer", "left"), ("gradient", "left"),
                            ("relative error", "right"), ("result", "left")):
        table.add_column(column, justify=justify)
    for result in results:
        verdict = "[green]ok[/]" if result.passed else "[bold red]FAIL[/]"
        table.add_row(result.layer, result.name, f"{result.error:.2e}", verdict)
    Console().print(table)
    failed = [r for r in results if not r.passed]
    if failed:
        raise _fail(f"{len(failed)} gradient(s) above {TOLERANCE:g}", EXIT_CHECK_FAILED)


def register(app: typer.Typer) -> None:
    """Add train, generate and gradcheck to the dlsolve application."""
    # The task list in `train --help` comes from module names alone: no task is imported.
    app.command(epilog=_train_help_epilog())(train)
    app.command()(generate)
    app.command()(gradcheck)

