"""A logistic regression over standardised features, in the form the project's linear models
store it (service/scoring.ScorerModel, service/continuation.ContinuationModel): each feature's
mean and scale, the coefficients on the standardised features, the intercept, rounded to six
places so that a refit on the same data writes the same file. Fitted on the train split only, by
eval/train.py and eval/quote.py; classes weighted to balance (right candidates are rare)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class StandardisedLogistic:
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float


def fit_standardised_logistic(
    x: np.ndarray, y: np.ndarray, c: float, sample_weight: np.ndarray | None = None
) -> StandardisedLogistic:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature: left as it is
    m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(
        (x - mean) / scale, y, sample_weight=sample_weight
    )
    return StandardisedLogistic(
        mean.round(6).tolist(), scale.round(6).tolist(), m.coef_[0].round(6).tolist(), round(float(m.intercept_[0]), 6)
    )
