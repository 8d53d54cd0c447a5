"""From logits to calibrated probabilities: a softmax at a temperature, the temperature fitted where labelled
data allows it (temperature scaling: Guo et al. 2017, "On calibration of modern neural networks").

- Few-shot: the model's logits on held-out folds of the examples (each example scored by a model that did
  not see it) fit the temperature that minimises their negative log-likelihood; the final model, fitted on
  every example, is used at that temperature.
- Zero-shot: the logits are the labels' calibrated log-odds (classify/zero_shot.py), and with no labelled
  data at hand the temperature is a fixed one (ZERO_SHOT_TEMPERATURE); bench/records.py reports the log-loss
  and calibration error it gives.

Figures (log-loss, expected calibration error) are in docs/record-collections.md.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

# Set once by the session that wrote this; bench/records.py's zero-shot rows show how well it holds.
ZERO_SHOT_TEMPERATURE = {"early": 0.1, "late": 0.1}
TEMPERATURE_BOUNDS = (0.02, 50.0)
CALIBRATION_BINS = 10


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def log_loss(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels (column indexes)."""
    picked = probabilities[np.arange(len(truth)), truth]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature whose softmax gives the true labels the highest likelihood."""
    if not len(truth):
        return 1.0
    lo, hi = np.log(TEMPERATURE_BOUNDS)
    found = minimize_scalar(
        lambda log_t: log_loss(softmax(logits, float(np.exp(log_t))), truth), bounds=(lo, hi), method="bounded"
    )
    return float(np.exp(found.x))


def calibration_error(probabilities: np.ndarray, truth: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error of the top label: the gap between confidence and accuracy, bin by bin
    of confidence, weighted by the bins' sizes."""
    if not len(truth):
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(gap)
