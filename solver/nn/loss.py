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


# --- losses on their own, each with its gradient with respect to the scores ---------------------
#
# `target` here is always shaped like `scores` (class indices are turned into one-hot rows by
# the caller). Each returns the unreduced losses (one per sample for the softmax family and
# hinge, one per element for bce and mse) and ∂loss/∂scores of the reduced loss, that is of
# losses.sum() / count (`count` is 1 for a sum).


def cross_entropy(scores: np.ndarray, target: np.ndarray, count: float, temperature: float = 1.0):
    """Softmax cross-entropy −Σ t·log_softmax(s/T) per sample; d/ds = (softmax(s/T)·Σt − t)/T."""
    scaled = scores / temperature
    log_probs = log_softmax(scaled)
    probs = np.exp(log_probs)
    losses = -(target * log_probs).sum(axis=1)
    dscores = (probs * target.sum(axis=1, keepdims=True) - target) / temperature / count
    return losses, probs, dscores


def negative_log_likelihood(log_probs: np.ndarray, target: np.ndarray, count: float,
                            temperature: float = 1.0):
    """−Σ t·(s/T) with s already log-probabilities; probs = exp(s/T)."""
    scaled = log_probs / temperature
    return -(target * scaled).sum(axis=1), np.exp(scaled), -target / temperature / count


# log(0) is clamped to −100 and the gradient's p(1 − p) to at least 1e-12, as PyTorch's BCELoss.
_LOG_FLOOR, _GRAD_FLOOR = -100.0, 1e-12


def binary_cross_entropy(probs: np.ndarray, target: np.ndarray, count: float):
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(probs), _LOG_FLOOR)
        log_q = np.maximum(np.log(1 - probs), _LOG_FLOOR)
    dscores = (probs - target) / np.maximum(probs * (1 - probs), _GRAD_FLOOR) / count
    return -(target * log_p + (1 - target) * log_q), dscores


def binary_cross_entropy_with_logits(scores: np.ndarray, target: np.ndarray, count: float):
    """max(s, 0) − s·t + ln(1 + e^−|s|): the same value as −[t ln σ(s) + (1 − t) ln(1 − σ(s))]
    without overflow; d/ds = σ(s) − t."""
    from solver.nn.activations import sigmoid

    per_element = np.maximum(scores, 0) - scores * target + np.log1p(np.exp(-np.abs(scores)))
    return per_element, (sigmoid(scores) - target) / count


def mean_squared_error(scores: np.ndarray, target: np.ndarray, count: float):
    diff = scores - target
    return diff * diff, 2 * diff / count


def multiclass_hinge(scores: np.ndarray, labels: np.ndarray, count: float, margin: float = 1.0):
    """CS231n's SVM loss: Σ over wrong classes j of max(0, s_j − s_y + Δ) per sample. Each
    positive margin adds 1 to ∂/∂s_j and −1 to ∂/∂s_y (at exactly 0 the gradient is 0)."""
    rows = np.arange(len(scores))
    margins = np.maximum(0, scores - scores[rows, labels][:, None] + margin)
    margins[rows, labels] = 0
    positive = (margins > 0).astype(float)
    positive[rows, labels] = -positive.sum(axis=1)
    return margins.sum(axis=1), positive / count


def kl_divergence(scores: np.ndarray, target: np.ndarray, count: float):
    """KL(t ‖ softmax(s)) = Σ t·(ln t − log_softmax(s)), with 0·ln 0 = 0."""
    log_probs = log_softmax(scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_target = np.where(target > 0, np.log(np.where(target > 0, target, 1)), 0.0)
    dscores = (np.exp(log_probs) * target.sum(axis=1, keepdims=True) - target) / count
    return (target * (log_target - log_probs)).sum(axis=1), dscores
