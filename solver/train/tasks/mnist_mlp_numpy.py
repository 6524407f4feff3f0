"""mnist-mlp-numpy: a multilayer perceptron on MNIST in NumPy only.

The course exercise: an MLP class with forward, backward, step, zero_grads, get_loss and
get_error, trained by SGD with momentum on a 50,000 / 10,000 / 10,000 split. Validation
accuracy is followed per epoch; the test set is scored once, at the end.
"""

from __future__ import annotations

from solver.nn.classifier import Classifier

SUMMARY = "MLP on MNIST in NumPy (ReLU, softmax cross-entropy, SGD with momentum)"

DEFAULTS = {
    "epochs": 10,
    "batch_size": 128,
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "hidden": [512, 256],
    "activation": "relu",  # relu | tanh | sigmoid
    "init": "he",  # he | xavier | normal
    "warmup_steps": 0,
}


class MLP(Classifier):
    """Fully connected layers with an activation between them and softmax cross-entropy on
    top. Usage per mini-batch: zero_grads(); forward(x); get_loss(y); backward(); step()."""

    def __init__(self, sizes: list[int], activation: str = "relu", init: str = "he",
                 lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 0.0, seed: int = 0):
        import numpy as np

        from solver.nn.activations import ReLU, Sigmoid, Tanh
        from solver.nn.linear import Linear

        activations = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
        if activation not in activations:
            raise ValueError(f"activation must be one of {', '.join(activations)}")
        rng = np.random.default_rng(seed)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, init=init, rng=rng, input_grad=i > 0))
            if i < len(sizes) - 2:
                layers.append(activations[activation]())
        super().__init__(layers, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def prepare(self, x):
        """Images (N, 28, 28) or rows (N, 784) -> rows."""
        return x.reshape(len(x), -1)


def train(config) -> dict:
    from solver.train.data import load_mnist, mnist_splits
    from solver.train.runs import Run
    from solver.train.tasks._numpy_loop import fit, normalise

    config = config.with_defaults(DEFAULTS)
    options = config.extra
    splits = mnist_splits(load_mnist(config.data_dir))
    x_train, y_train = splits["train"]
    if config.limit:
        x_train, y_train = x_train[:config.limit], y_train[:config.limit]

    sizes = [28 * 28, *options["hidden"], 10]
    model = MLP(sizes, options["activation"], options["init"], config.lr, options["momentum"],
                options["weight_decay"], config.seed)
    run = Run.create(config.out, config.task, config.as_dict(), config.resume)
    final = fit(run, model, (normalise(x_train), y_train),
                {"val": (normalise(splits["val"][0]), splits["val"][1]),
                 "test": (normalise(splits["test"][0]), splits["test"][1])}, config)
    run.finish(final, "model.npz", [("Model", _describe(sizes, options, len(x_train)))])
    return {**final, "run_dir": str(run.dir)}


def _describe(sizes: list[int], options: dict, n_train: int) -> str:
    layers = " → ".join(str(s) for s in sizes)
    return (f"Fully connected {layers} with {options['activation']} between layers, "
            f"{options['init']} initialisation and zero biases; softmax cross-entropy loss. "
            f"SGD with classic momentum (v ← {options['momentum']}·v + g, p ← p − lr·v), "
            f"weight decay {options['weight_decay']}, learning rate decayed to 0 on a cosine. "
            f"Trained on {n_train} images; validation: 10,000 held-out training images; "
            f"test: the official 10,000.")
