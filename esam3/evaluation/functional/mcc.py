# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Matthews correlation coefficient."""
import math


def mcc(tp: float, fp: float, tn: float, fn: float) -> float:
    """Matthews correlation coefficient of a binary confusion matrix.

    ``(TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))``; 0 when the
    denominator is 0 (then the numerator is 0 as well).

    Args:
        tp (float): True positives.
        fp (float): False positives.
        tn (float): True negatives.
        fn (float): False negatives.

    Returns:
        float: MCC in [-1, 1].
    """
    denom = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    if denom == 0:
        return 0.0
    return float((tp * tn - fp * fn) / math.sqrt(denom))
