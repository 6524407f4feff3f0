"""Softmax followed by cross-entropy, as one layer.

Fused because the gradient of the pair with respect to the logits is simply
(softmax − one_hot) / N, which is both cheaper and more accurate than chaining the two.
"""

from __future__ import annotations

import numpy as np

from solver.nn.functions import softmax_array


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax; subtracting the row maximum keeps exp() from overflowing."""
    return softmax_array(logits, axis=1)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class SoftmaxCrossEntropy:
    """Mean cross-entropy of integer class labels; backward gives d loss / d logits."""

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        log_probs = log_softmax(logits)
        self._probs = np.exp(log_probs)
        self._labels = labels
        return float(-log_probs[np.arange(len(labels)), labels].mean())

    __call__ = forward

    def backward(self) -> np.ndarray:
        grad = self._probs.copy()
        grad[np.arange(len(self._labels)), self._labels] -= 1
        return grad / len(self._labels)
