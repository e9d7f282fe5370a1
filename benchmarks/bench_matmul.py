"""Chunked matrix products beside Dask, on finite data and with a few NaN.

Run:  python benchmarks/bench_matmul.py [--n 2000 --chunk 500 --repeat 3]

A block product checks its operands for inf and NaN (one sum each) and
takes an IEEE-exact path only when one is there, so that ``0 * inf`` stays
NaN however the operands are chunked (BLAS skips zero factors). Each row
times ``x @ y`` (n x n times n x n) and ``x @ v`` (n x n times n x 1) in
lamina and Dask on the same data in the same run, with the embedded or
threaded runner, and one block kernel alone with and without the check.
"""

from __future__ import annotations

import argparse
import timeit
from typing import Any, Callable

import dask
import dask.array as da
import numpy as np

import lamina.array as la
from lamina.layers.blas import single_threaded_blas
from lamina.layers.exact_products import contract


def best(fn: Callable[[], Any], repeat: int) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--chunk", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    n, c, r = args.n, args.chunk, args.repeat
    finite = rng.standard_normal((n, n))
    with_nan = finite.copy()
    with_nan[rng.integers(0, n, 5), rng.integers(0, n, 5)] = np.nan
    rhs, vec = rng.standard_normal((n, n)), rng.standard_normal((n, 1))
    print(f"n={n}, chunks of {c}, best of {r}")
    print(f"{'case':<28} {'lamina s':>9} {'Dask s':>9} {'lamina/Dask':>12}")
    for data_name, data in (("finite", finite), ("5 NaN", with_nan)):
        for op_name, right in (("x @ y", rhs), ("x @ v", vec)):
            lx, ly = la.from_array(data, chunks=c), la.from_array(right, chunks=(c, -1 if
                                                                              right.shape[1] == 1 else c))
            dx, dy = da.from_array(data, chunks=c), da.from_array(right, chunks=ly.chunks)
            want = data @ right
            got = np.asarray((lx @ ly).compute())
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)
            t_lamina = best(lambda: (lx @ ly).compute(), r)
            with dask.config.set(scheduler="threads"):
                t_dask = best(lambda: (dx @ dy).compute(), r)
            print(f"{data_name + ', ' + op_name:<28} {t_lamina:9.3f} {t_dask:9.3f} "
                  f"{t_lamina / t_dask:12.2f}")
    print(f"\none {c} x {c} block, one BLAS thread")
    print(f"{'kernel':<28} {'plain ms':>9} {'checked ms':>11} {'ratio':>7}")
    block = finite[:c, :c]
    nan_block = with_nan.copy()[:c, :c]
    nan_block[0, 0] = np.nan
    with single_threaded_blas():
        for name, x, y in (("finite, block @ block", block, rhs[:c, :c]),
                           ("finite, block @ vector", block, vec[:c]),
                           ("NaN, block @ block", nan_block, rhs[:c, :c])):
            plain = best(lambda: np.matmul(x, y), r) * 1e3
            checked = best(lambda: contract(np.matmul, x, y, -1, -2), r) * 1e3
            print(f"{name:<28} {plain:9.2f} {checked:11.2f} {checked / plain:7.2f}")


if __name__ == "__main__":
    main()
