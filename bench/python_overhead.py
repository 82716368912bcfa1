"""The Python binding's per-call overhead: Ensemble.predict on 16 rows of a
100-tree, depth-4 model against the C call alone (brl_model_predict timed
inside the extension). A measurement, not a test: run it on a quiet machine.

    BRL_LIB=... python bench/python_overhead.py   (with boostrl importable)
"""

from __future__ import annotations

import time

import numpy as np

import boostrl
from boostrl import _core


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2048, 8)).astype(np.float32)
    ens = boostrl.Ensemble(8, 2, max_depth=4, n_threads=1)
    ens.fit(X, rng.normal(size=(2048, 2)), iterations=100)
    X16 = np.ascontiguousarray(X[:16])
    reps = 2000

    def py_call() -> float:
        t0 = time.perf_counter()
        for _ in range(reps):
            ens.predict(X16)
        return (time.perf_counter() - t0) / reps

    # Best of several rounds of each: the noise of a shared machine only
    # ever adds time.
    c_best = py_best = float("inf")
    for _ in range(15):
        c_best = min(c_best, _core._time_predict(ens, X16, reps))
        py_best = min(py_best, py_call())
    print(
        f"predict on 16 rows, 100 trees: C call {c_best * 1e6:.2f} us, "
        f"Ensemble.predict {py_best * 1e6:.2f} us, overhead {(py_best - c_best) * 1e6:.2f} us"
    )


if __name__ == "__main__":
    main()
