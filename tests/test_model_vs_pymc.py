"""Our fits against pymc-marketing's (a test-only dependency; docs/model.md, "Why scipy").

pymc-marketing's BetaGeoModel and GammaGammaModel, given flat priors and fitted by MAP, maximise
the same likelihoods as `loyalty.model`; on the same simulated customers both must land on the
same parameters. pymc compiles C++ on first use (about a minute on this machine class), so it runs
in a subprocess with its compile cache in the test's temporary folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from loyalty.model import BgNbdParams, GammaGammaParams, fit_bg_nbd, fit_gamma_gamma
from loyalty.model.simulate import simulate

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pymc_marketing") is None,
    reason="pymc-marketing is not installed (test extra: pymc-marketing==0.19.2)",
)

N = 4_000
SEED = 7
TRUE_BG = BgNbdParams(r=0.25, alpha=28.0, a=0.8, b=2.5)
TRUE_GG = GammaGammaParams(p=6.25, q=3.74, v=15.44)
# Both maximise the same likelihood on the same rows: the optima agree to 0.1 % (what differs is
# only where each optimiser stops).
TOLERANCE = 1e-3

PYMC_FIT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, pandas as pd
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    data = json.load(sys.stdin)
    x, tx, T, m = (np.array(data[k], dtype=float) for k in ("x", "tx", "T", "m"))
    flat = lambda names: {k: Prior("HalfFlat") for k in names}
    bg = BetaGeoModel(model_config=flat(("r", "alpha", "a", "b")))
    bg.fit(data=pd.DataFrame({"customer_id": range(len(x)), "frequency": x, "recency": tx,
                              "T": T}), method="map", progressbar=False)
    rep = x > 0
    gg = GammaGammaModel(model_config=flat(("p", "q", "v")))
    gg.fit(data=pd.DataFrame({"customer_id": range(int(rep.sum())), "frequency": x[rep],
                              "monetary_value": m[rep]}), method="map", progressbar=False)
    get = lambda model, names: {k: float(model.idata.posterior[k].values.ravel()[0]) for k in names}
    print(json.dumps({**get(bg, ("r", "alpha", "a", "b")), **get(gg, ("p", "q", "v"))}))
    """
)


def test_our_fits_equal_pymc_marketings_with_flat_priors(tmp_path):
    c = simulate(N, TRUE_BG, TRUE_GG, np.random.default_rng(SEED))
    data = {
        "x": c.frequency.tolist(),
        "tx": c.recency.tolist(),
        "T": c.T.tolist(),
        "m": np.nan_to_num(c.monetary).tolist(),
    }
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'pytensor'}"}
    done = subprocess.run(
        [sys.executable, "-c", PYMC_FIT],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])

    bg = fit_bg_nbd(c.frequency, c.recency, c.T)
    gg = fit_gamma_gamma(c.frequency, c.monetary)
    assert bg.converged and gg.converged
    ours = {**bg.params.__dict__, **gg.params.__dict__}
    for name, value in ours.items():
        assert value == pytest.approx(theirs[name], rel=TOLERANCE), (name, value, theirs[name])
