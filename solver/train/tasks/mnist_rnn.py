"""mnist-rnn: MNIST read by a recurrent network, one image row per time step.

Each 28 x 28 image becomes a sequence of 28 vectors of 28 pixels, top row first. An LSTM or a
GRU (`--cell`) reads the sequence; its hidden state after the last row goes through one
linear layer to the 10 class scores. Same split as mnist-cnn (50k / 10k / 10k).

Adam with a one-cycle learning rate (warm-up, then a linear fall to zero) and gradient-norm
clipping: the warm-up keeps the first large updates from saturating the gates, clipping
catches the rare exploding step of backpropagation through 28 steps.
"""

from __future__ import annotations

SUMMARY = "LSTM or GRU on MNIST, each image read as a sequence of 28 rows (PyTorch)"

DEFAULTS = {
    "epochs": 6,
    "batch_size": 128,
    "lr": 3e-3,  # peak of the one-cycle schedule
    "hidden": 128,
    "warmup": 0.2,
    "clip_norm": 1.0,
    # float32 everywhere: on the 2-core AVX-512 CPU measured, bf16 autocast slowed these
    # small recurrent steps down, and on a GPU they are too small to gain from it.
    "precision": "fp32",
}


def defaults_for(config) -> dict:
    """A GRU step costs about 1.4 times an LSTM step here and learns faster: 5 epochs."""
    return {**DEFAULTS, "epochs": 5} if config.cell == "gru" else DEFAULTS


def row_net(cell: str, hidden: int):
    """The network; built inside a function so that torch is imported only when training."""
    from torch import nn

    class RowRNN(nn.Module):
        """(N, 1, 28, 28) images → 28 steps of 28 pixels → last hidden state → 10 scores."""

        def __init__(self):
            super().__init__()
            recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
            self.rnn = recurrent(28, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 10)

        def forward(self, images):
            rows = images.reshape(len(images), 28, 28)
            outputs, _ = self.rnn(rows)
            return self.head(outputs[:, -1])

    return RowRNN()


def train(config) -> dict:
    import torch

    from solver.train.tasks.mnist_cnn import mnist_tensors, one_cycle
    from solver.train.torch_utils import (Learner, SetupError, count_parameters,
                                          fit_classifiers, open_run, save_model, training_session)

    config = config.with_defaults(DEFAULTS)
    options = config.extra
    if config.cell not in ("lstm", "gru"):
        raise SetupError(f"--cell must be lstm or gru, not {config.cell!r}")
    with training_session(config, options["precision"]) as env:
        data, prepare = mnist_tensors(config, env)
        run = open_run(config, env)
        model = row_net(config.cell, options["hidden"]).to(env.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        learner = Learner("", model, optimizer, one_cycle(options["warmup"]),
                          clip_norm=options["clip_norm"])
        final = fit_classifiers(config, env, run, [learner], data,
                                lambda images: prepare(images).contiguous())
        model_file = save_model(run, env, model)
        run.finish(final, model_file, [("Model", (
            f"{config.cell.upper()} with {options['hidden']} hidden units reading 28 rows of "
            f"28 pixels, then a linear layer on the last hidden state: "
            f"{count_parameters(model):,} parameters. Adam, one-cycle learning rate peaking at "
            f"{config.lr:g}, gradient norm clipped at {options['clip_norm']}. Trained on "
            f"{env.describe()} with {final['train_samples']} images."))])
        return {**final, "run_dir": str(run.dir)}
