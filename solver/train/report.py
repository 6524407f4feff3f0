"""Presentation of a finished run: the training-curve figure and the Markdown report."""

from __future__ import annotations

from pathlib import Path

from solver.output import atomic_path


def loss_series(epochs: list[dict]) -> dict[str, list[float]]:
    """Every logged metric whose name contains 'loss', per epoch."""
    return _series(epochs, lambda name: "loss" in name, lambda v: v)


def error_series(epochs: list[dict]) -> dict[str, list[float]]:
    """Error rates per epoch: '*error*' metrics as logged, '*acc*' ones as 1 - accuracy."""
    errors = _series(epochs, lambda name: "error" in name, lambda v: v)
    from_accuracy = _series(epochs, lambda name: "acc" in name, lambda v: 1.0 - v)
    for name, values in from_accuracy.items():
        errors.setdefault(name.replace("accuracy", "error").replace("acc", "error"), values)
    return errors


def _series(epochs, wanted, transform) -> dict[str, list[float]]:
    names = [n for n in dict.fromkeys(k for e in epochs for k in e) if n != "epoch" and wanted(n)]
    return {
        name: [transform(e[name]) if isinstance(e.get(name), (int, float)) else float("nan")
               for e in epochs]
        for name in names
    }


def plot_curves(epochs: list[dict], path: Path, title: str = "") -> Path | None:
    """Loss (left) and error rate (right) per epoch as a PNG; None when nothing was logged."""
    if not epochs:
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, and no GUI start-up cost
    import matplotlib.pyplot as plt

    x = [e["epoch"] for e in epochs]
    figure, (loss_axis, error_axis) = plt.subplots(1, 2, figsize=(9, 3.5))
    for name, values in loss_series(epochs).items():
        loss_axis.plot(x, values, marker="o", label=name)
    for name, values in error_series(epochs).items():
        error_axis.plot(x, [100 * v for v in values], marker="o", label=name)
    loss_axis.set(xlabel="epoch", ylabel="loss", title="loss")
    error_axis.set(xlabel="epoch", ylabel="error (%)", title="error")
    for axis in (loss_axis, error_axis):
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as temp:
        figure.savefig(temp, dpi=100)
    plt.close(figure)
    return Path(path)


def format_value(name: str, value) -> str:
    if isinstance(value, float):
        if "acc" in name or "error" in name:
            return f"{100 * value:.2f} %"
        return f"{value:.4g}"
    return str(value)


def render_report(task: str, config: dict, epochs: list[dict], final: dict,
                  curves_file: str | None, sections: list[tuple[str, str]]) -> str:
    """The run's report.md: configuration, final results, per-epoch table, curves, extras."""
    lines = [f"# Training run: {task}", "", "## Configuration", "", "| option | value |",
             "| --- | --- |"]
    lines += [f"| {key} | {_cell(value)} |" for key, value in _config_rows(config)]
    lines += ["", "## Results", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {key} | {format_value(key, value)} |" for key, value in final.items()]
    if epochs:
        names = list(dict.fromkeys(k for e in epochs for k in e))
        lines += ["", "### Per epoch", "", "| " + " | ".join(names) + " |",
                  "|" + " --- |" * len(names)]
        for entry in epochs:
            lines.append("| " + " | ".join(format_value(n, entry.get(n, "")) for n in names) + " |")
    if curves_file:
        lines += ["", "## Training curves", "", f"![loss and error per epoch]({curves_file})"]
    for heading, body in sections:
        lines += ["", f"## {heading}", "", body.rstrip()]
    return "\n".join(lines) + "\n"


def _numpy_run(config: dict) -> bool:
    return str(config.get("task", "")).endswith("-numpy") or config.get("backend") == "numpy"


# Options of `dlsolve train` that only some runs read, with the test of whether this run did:
# a report lists the options that shaped the run, not --device for a NumPy network.
_APPLIES = {
    "device": lambda config: not _numpy_run(config),
    "cell": lambda config: config.get("task") in ("mnist-rnn", "shakespeare-lstm") and not _numpy_run(config),
    "backend": lambda config: config.get("task") == "shakespeare-lstm",
    "cifar_dir": lambda config: config.get("task") == "cifar10-cnn",
    "full": lambda config: config.get("task") in ("mnist-lenet-numpy", "cifar10-cnn"),
}


def _config_rows(config: dict):
    """Options in order, those that applied to the run; a nested dict (the task's own
    options, `extra`) one row per key."""
    for key, value in config.items():
        if isinstance(value, dict):
            yield from value.items()
        elif key not in _APPLIES or _APPLIES[key](config):
            yield key, value


def _cell(value) -> str:
    return str(value).replace("|", "\\|") if value not in (None, "") else "–"
