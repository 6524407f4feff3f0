"""The course's model interface over a chain of layers: forward(x), get_loss(labels),
get_error(labels), backward(), step(), zero_grads(), plus state_dict() for checkpoints.

Imports nothing heavy at top level, so a task module can subclass it and still be listed
without loading NumPy.
"""

from __future__ import annotations


class Classifier:
    """Layers with softmax cross-entropy on top, trained by SGD with momentum. Usage per
    mini-batch: zero_grads(); forward(x); get_loss(y); backward(); step().

    A subclass builds its layers and passes them here; it may override `prepare` to reshape
    the input (images to rows for an MLP, to one channel for a CNN).
    """

    def __init__(self, layers: list, *, lr: float, momentum: float, weight_decay: float):
        from solver.nn.loss import SoftmaxCrossEntropy
        from solver.nn.optim import SGD
        from solver.nn.sequential import Sequential

        self.network = Sequential(layers)
        self.criterion = SoftmaxCrossEntropy()
        self.optimizer = SGD(self.network.layers, lr=lr, momentum=momentum,
                             weight_decay=weight_decay)

    def prepare(self, x):
        return x

    def forward(self, x):
        """Logits of a batch; kept for get_loss, get_error and backward."""
        self.logits = self.network.forward(self.prepare(x))
        return self.logits

    def get_loss(self, labels) -> float:
        """Mean cross-entropy of the last forward pass."""
        return self.criterion.forward(self.logits, labels)

    def get_error(self, labels) -> float:
        """Fraction of the last forward pass's samples classified wrongly."""
        return float((self.logits.argmax(axis=1) != labels).mean())

    def backward(self) -> None:
        """Gradients of the last get_loss with respect to every weight and bias."""
        self.network.backward(self.criterion.backward())

    def step(self) -> None:
        self.optimizer.step()

    def zero_grads(self) -> None:
        self.network.zero_grads()

    def state_dict(self):
        return self.network.state_dict()

    def load_state_dict(self, state) -> None:
        self.network.load_state_dict(state)
