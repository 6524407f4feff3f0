"""mnist-cnn: a convolutional network on MNIST in PyTorch, and an attempt to improve it.

The exercise gives a plain CNN and asks to "try to improve it". Every run trains both on the
same 50,000 / 10,000 / 10,000 split and the same batches:

  baseline   conv 3x3 (32) → ReLU → max-pool → conv 3x3 (64) → ReLU → max-pool → FC 128 → FC 10;
             SGD with momentum at a constant learning rate
  improved   three blocks conv 3x3 → max-pool → batch norm → ReLU (24, 48, 96 channels),
             then one linear layer; Nesterov SGD with a one-cycle learning rate, label
             smoothing and weight decay

Why the improved model is both better and faster on a CPU: pooling right after each
convolution (before batch norm and ReLU, as in the CIFAR-10 speed records) leaves a quarter
of the values for the element-wise layers, which on a CPU cost as much as the convolutions;
batch norm allows a ten times larger learning rate; the one-cycle schedule ends at a zero
learning rate, so the last steps settle into a minimum instead of bouncing around one.
The third block replaces the 3136 x 128 fully connected layer, which held most of the
baseline's weights.
"""

from __future__ import annotations

import dataclasses

SUMMARY = "CNN on MNIST in PyTorch: a baseline and an improved model, compared"

DEFAULTS = {
    "epochs": 3,
    "batch_size": 128,  # halved for short runs, down to 32, to give the schedule 300 steps
    "lr": 0.1,  # peak of the one-cycle schedule
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "label_smoothing": 0.1,
    "warmup": 0.25,  # fraction of the steps spent raising the learning rate
    "widths": [24, 48, 96],
    "baseline": True,  # also train the baseline, for the comparison in the report
    "baseline_lr": 0.01,
    # auto: bfloat16 autocast on a GPU, float32 on a CPU (on the 2-core AVX-512 CPU measured,
    # bfloat16 was no faster for these small convolutions: docs/training-pytorch.md).
    "precision": "auto",
}

# MNIST pixel mean and standard deviation over the training set (values in [0, 1]).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def baseline_net():
    """The exercise's starting point: two conv / ReLU / max-pool stages and two FC layers."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def improved_net(widths=(24, 48, 96)):
    """Three conv → pool → BN → ReLU blocks: 28 → 14 → 7 → 3 pixels, then a linear layer."""
    from torch import nn

    layers, channels = [], 1
    for width in widths:
        # No conv bias: batch norm's shift takes its place.
        layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.MaxPool2d(2),
                   nn.BatchNorm2d(width), nn.ReLU()]
        channels = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 3 * 3, 10))


def one_cycle(warmup: float):
    """Learning-rate factor: linear rise to 1 over `warmup`, then linear fall to 0."""
    def factor(progress: float) -> float:
        if progress < warmup:
            return 0.05 + 0.95 * progress / warmup
        return max(0.0, (1.0 - progress) / (1.0 - warmup))
    return factor


def mnist_tensors(config, env):
    """The 50k / 10k / 10k split as uint8 / int64 tensors on the device (first --limit
    training images only), and the function turning a uint8 batch into network input."""
    import torch

    from solver.train.data import load_mnist, mnist_splits
    from solver.train.torch_utils import to_device_tensors

    splits = mnist_splits(load_mnist(config.data_dir))
    if config.limit:
        x, y = splits["train"]
        splits["train"] = (x[:config.limit], y[:config.limit])
    data = to_device_tensors(splits, env.device)

    def prepare(images):
        x = (images.float().unsqueeze(1) / 255.0 - MNIST_MEAN) / MNIST_STD
        # channels-last is the layout the CPU (oneDNN) and GPU (cuDNN) convolutions prefer.
        return x.contiguous(memory_format=torch.channels_last)

    return data, prepare


def train(config) -> dict:
    import torch

    from solver.train.torch_utils import (Learner, fit_classifiers, fitted_batch_size, open_run,
                                          save_model, training_session)

    batch_given = config.batch_size is not None
    config = config.with_defaults(DEFAULTS)
    options = config.extra
    with training_session(config, options["precision"]) as env:
        data, prepare = mnist_tensors(config, env)
        if not batch_given:  # the schedule fitted to the run's length: enough steps for one cycle
            config = dataclasses.replace(config, batch_size=fitted_batch_size(
                len(data["train"][1]), config.epochs, DEFAULTS["batch_size"]))
        run = open_run(config, env)
        learners = []
        if options["baseline"]:
            # The baseline keeps the exercise's plain recipe: no schedule, no regularisation.
            model = baseline_net().to(env.device, memory_format=torch.channels_last)
            optimizer = torch.optim.SGD(model.parameters(), lr=options["baseline_lr"],
                                        momentum=options["momentum"])
            learners.append(Learner("baseline", model, optimizer, lambda progress: 1.0))
        # The improved model starts from the same weights with or without the baseline.
        torch.manual_seed(config.seed)
        model = improved_net(options["widths"]).to(env.device, memory_format=torch.channels_last)
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=options["momentum"],
                                    nesterov=True, weight_decay=options["weight_decay"])
        learners.append(Learner("", model, optimizer, one_cycle(options["warmup"]),
                                label_smoothing=options["label_smoothing"]))

        final = fit_classifiers(config, env, run, learners, data, prepare)
        model_file = save_model(run, env, model)
        if options["baseline"]:
            save_model(run, env, learners[0].model, "baseline.pt")
        run.finish(final, model_file, [
            ("Baseline and improved model", comparison(learners, final)),
            ("Setup", f"Trained on {env.describe()}; {final['train_samples']} training images, "
                      "10,000 validation images (held out from the official training set), "
                      "the official 10,000 test images."),
        ])
        return {**final, "run_dir": str(run.dir)}


def comparison(learners, final: dict) -> str:
    from solver.train.torch_utils import count_parameters

    rows = ["| model | parameters | recipe | val accuracy | test accuracy | train time |",
            "| --- | ---: | --- | ---: | ---: | ---: |"]
    recipes = {"baseline": "SGD + momentum, constant lr, no normalisation",
               "": "pool → BN → ReLU blocks, Nesterov SGD, one-cycle lr, label smoothing"}
    for learner in learners:
        name = learner.name or "improved"
        rows.append(f"| {name} | {count_parameters(learner.model):,} | {recipes[learner.name]} | "
                    f"{100 * final[learner.key('val_accuracy')]:.2f} % | "
                    f"{100 * final[learner.key('test_accuracy')]:.2f} % | "
                    f"{final[learner.key('train_time_s')]:.1f} s |")
    return "\n".join(rows) + "\n\nTrain time counts the training steps and the per-epoch " \
        "validation of each model on its own."
