"""The Python twin of the uncertainty macros of sql/macros.sql (docs/metrics.md, "Uncertainty"):
the Wilson interval of a share, the pooled two-proportion z-test and the z of an NPS difference.
The marts compute their intervals in SQL; the reports use these for what they compare themselves
(this week against last week in the segment cards). Same formulas, same edge cases (None)."""

from __future__ import annotations

import math
from statistics import NormalDist


def z_of(confidence: float) -> float:
    """The two-sided normal quantile of a confidence level (0.95 -> 1.959964)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(k: float, n: float, z: float) -> tuple[float, float] | None:
    """The Wilson score interval of k successes out of n at the normal quantile z; None for n = 0."""
    if not n:
        return None
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    scale = 1 + z * z / n
    return max((centre - half) / scale, 0.0), min((centre + half) / scale, 1.0)


def two_proportion_z(p1: float, n1: float, p2: float, n2: float) -> float | None:
    """z of p1 - p2 under the pooled two-proportion test; None when a side is empty or the pooled
    share is 0 or 1."""
    if not n1 or not n2:
        return None
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    if not 0 < pooled < 1:
        return None
    return (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))


def nps_std_error(promoter_share: float, detractor_share: float, n: float) -> float | None:
    """The standard error of an NPS in points."""
    if not n:
        return None
    p, d = promoter_share, detractor_share
    return 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)


def difference_z(difference: float, se1: float | None, se2: float | None) -> float | None:
    """z of a difference whose two sides have standard errors se1 and se2."""
    if se1 is None or se2 is None or se1**2 + se2**2 <= 0:
        return None
    return difference / math.sqrt(se1**2 + se2**2)


def significant(
    z: float | None, n1: float | None, n2: float | None, alpha: float, min_n: int
) -> bool:
    """A change is significant when its two-sided test rejects at `alpha` and both sides hold at
    least `min_n`; a change that cannot be tested is not."""
    if z is None or n1 is None or n2 is None or n1 < min_n or n2 < min_n:
        return False
    return abs(z) >= NormalDist().inv_cdf(1 - alpha / 2)
