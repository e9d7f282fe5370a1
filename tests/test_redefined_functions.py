"""Arrays built from different functions of one name keep their own values.

A notebook redefines ``f`` and maps both versions; if the two layers shared
a token, common-subexpression merging would compute one of them for both.
"""

import functools
import subprocess
import sys
import textwrap

import numpy as np

import lamina
import lamina.array as la

X = np.arange(20.0)


def _x():
    return la.from_array(X, chunks=((6, 6, 8),))


def test_redefined_map_blocks_function_in_one_compute():
    def f(b):
        return b + 1
    a = _x().map_blocks(f)

    def f(b):  # noqa: F811 - the redefinition is the point
        return b * 2
    b = _x().map_blocks(f)
    got_a, got_b = lamina.compute(a, b)
    np.testing.assert_array_equal(got_a, X + 1)
    np.testing.assert_array_equal(got_b, X * 2)


def test_redefined_elemwise_function_in_one_expression():
    def f(b):
        return b + 1
    a = la.elemwise(f, _x())

    def f(b):  # noqa: F811
        return b * 2
    b = la.elemwise(f, _x())
    np.testing.assert_array_equal((a - b).compute(), (X + 1) - (X * 2))


def test_redefined_lambdas_in_reductions():
    a = _x().map_blocks(lambda b: b + 1).sum()
    b = _x().map_blocks(lambda b: b + 3).sum()
    assert lamina.compute(a, b) == ((X + 1).sum(), (X + 3).sum())


def test_closures_over_different_values():
    fs = [(lambda k: (lambda b: b * k))(k) for k in (2, 3)]
    got = lamina.compute(*[_x().map_blocks(f) for f in fs])
    np.testing.assert_array_equal(got[0], X * 2)
    np.testing.assert_array_equal(got[1], X * 3)


def test_partials_with_different_arguments():
    def f(b, k):
        return b - k
    a, b = (_x().map_blocks(functools.partial(f, k=k)) for k in (1, 5))
    np.testing.assert_array_equal((a * b).compute(), (X - 1) * (X - 5))


def test_different_default_arguments():
    def f(b, k=1):
        return b ** k
    a = _x().map_blocks(f)

    def f(b, k=2):  # noqa: F811
        return b ** k
    b = _x().map_blocks(f)
    np.testing.assert_array_equal((a + b).compute(), X + X ** 2)


def test_optimizer_keeps_the_two_functions_apart():
    def f(b):
        return b + 1
    a = _x().map_blocks(f)

    def f(b):  # noqa: F811
        return b * 2
    b = _x().map_blocks(f)
    assert a.layer != b.layer
    opt_a, opt_b = lamina.optimize(a, b)
    assert opt_a.layer.name != opt_b.layer.name
    np.testing.assert_array_equal(opt_b.compute(), X * 2)


def test_same_function_still_merges():
    def f(b):
        return b + 1
    assert _x().map_blocks(f).layer == _x().map_blocks(f).layer


def cell_f(b):
    return b + 1


FIRST_CELL_F = cell_f


def cell_f(b):  # noqa: F811 - a module-level redefinition, as a notebook cell makes
    return b * 2


def test_module_level_redefinition_in_one_compute():
    got_a, got_b = lamina.compute(_x().map_blocks(FIRST_CELL_F), _x().map_blocks(cell_f))
    np.testing.assert_array_equal(got_a, X + 1)
    np.testing.assert_array_equal(got_b, X * 2)


_NOTEBOOK = textwrap.dedent("""
    import numpy as np
    import lamina, lamina.array as la
    x = la.from_array(np.arange(20.0), chunks=((6, 6, 8),))
    def f(b):
        return b + 1
    a = x.map_blocks(f).sum()
    def f(b):
        return b * 2
    b = x.map_blocks(f).sum()
    print(*lamina.compute(a, b))
""")


def test_notebook_redefinition_in_main():
    out = subprocess.run([sys.executable, "-c", _NOTEBOOK], capture_output=True, text=True,
                         check=True).stdout.split()
    assert [float(v) for v in out] == [(X + 1).sum(), (X * 2).sum()]
