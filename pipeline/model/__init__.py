"""The customer-value model (layer 2; numpy and scipy only, no SQL, no Dagster): BG/NBD for the
purchase process and Gamma-Gamma for spend, fitted by maximum likelihood on aggregated rows.
What it assumes, the formulas and when not to trust it: docs/model.md.

    fit_bg_nbd, p_alive, expected_orders, expected_orders_if_alive      (loyalty.model.bg_nbd)
    fit_gamma_gamma, expected_order_value                               (loyalty.model.gamma_gamma)
"""

from loyalty.model.bg_nbd import (
    expected_orders,
    expected_orders_if_alive,
    fit_bg_nbd,
    p_alive,
)
from loyalty.model.fit import one_blas_thread
from loyalty.model.gamma_gamma import expected_order_value, fit_gamma_gamma
from loyalty.model.types import BgNbdParams, Fit, GammaGammaParams

__all__ = [
    "BgNbdParams",
    "Fit",
    "GammaGammaParams",
    "expected_order_value",
    "expected_orders",
    "expected_orders_if_alive",
    "fit_bg_nbd",
    "fit_gamma_gamma",
    "one_blas_thread",
    "p_alive",
]
