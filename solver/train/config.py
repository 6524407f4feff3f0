"""The settings of one training run, shared by every task."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TrainConfig:
    """Options of `dlsolve train`; None means "use the task's default" (its DEFAULTS)."""

    task: str
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    device: str = "auto"  # 'auto' | 'cpu' | 'cuda'
    data_dir: str | None = None
    cifar_dir: str | None = None
    out: str | None = None
    limit: int | None = None
    resume: bool = False
    full: bool = False
    cell: str = "lstm"  # 'lstm' | 'gru'
    backend: str = "torch"  # 'torch' | 'numpy'
    extra: dict[str, Any] = field(default_factory=dict)

    def with_defaults(self, defaults: dict[str, Any]) -> "TrainConfig":
        """Fill every option left at None from a task's DEFAULTS; other keys go into `extra`."""
        values = asdict(self)
        extra = dict(values.pop("extra"))
        for key, value in defaults.items():
            if key in values:
                if values[key] is None:
                    values[key] = value
            else:
                extra.setdefault(key, value)
        return TrainConfig(**values, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, saved beside the results of the run."""
        return asdict(self)
