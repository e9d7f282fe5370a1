"""Tokens of functions: equal only when the functions compute the same thing.

Equal tokens merge layers, so two different functions that shared a token
(say, both named ``f``, as after a redefinition in a notebook) would make
one array silently return the other's values.
"""

import functools
import subprocess
import sys
import textwrap

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lamina.tokenize import tokenize


def test_redefined_def_gets_a_new_token():
    def f(b):
        return b + 1
    first = tokenize(f)

    def f(b):  # noqa: F811 - the redefinition is the point
        return b * 2
    assert tokenize(f) != first


def module_f(b):
    return b + 1


FIRST_MODULE_F = module_f


def module_f(b):  # noqa: F811 - a module-level redefinition, as a notebook cell makes
    return b * 2


def test_module_level_redefinition_gets_a_new_token():
    assert tokenize(FIRST_MODULE_F) != tokenize(module_f)


def test_same_definition_gets_the_same_token():
    def make():
        def f(b):
            return b + 1
        return f
    assert tokenize(make()) == tokenize(make())


def test_lambdas_differ_by_constant():
    assert tokenize(lambda b: b + 1) != tokenize(lambda b: b + 2)
    assert tokenize(lambda b: b + 1) == tokenize(lambda b: b + 1)


def test_lambdas_differ_by_operation():
    assert tokenize(lambda b: b + 1) != tokenize(lambda b: b - 1)


def _scaler(k):
    def scale(b):
        return b * k
    return scale


@given(st.integers(-5, 5), st.integers(-5, 5))
def test_closures_share_a_token_exactly_when_their_cells_are_equal(i, j):
    assert (tokenize(_scaler(i)) == tokenize(_scaler(j))) == (i == j)


def test_closure_over_arrays_is_hashed_by_content():
    assert tokenize(_scaler(np.arange(3))) != tokenize(_scaler(np.arange(1, 4)))
    assert tokenize(_scaler(np.arange(3))) == tokenize(_scaler(np.arange(3)))


def test_defaults_are_part_of_the_token():
    def f(b, k=1):
        return b * k
    first = tokenize(f)

    def f(b, k=2):  # noqa: F811
        return b * k
    assert tokenize(f) != first


def test_keyword_only_defaults_are_part_of_the_token():
    def f(b, *, k=1):
        return b * k
    first = tokenize(f)

    def f(b, *, k=2):  # noqa: F811
        return b * k
    assert tokenize(f) != first


def test_mutated_defaults_change_the_token():
    def f(b, k=1):
        return b * k
    first = tokenize(f)
    f.__defaults__ = (2,)
    assert tokenize(f) != first


def test_nested_code_is_part_of_the_token():
    def f(b):
        return list(map(lambda v: v + 1, b))
    first = tokenize(f)

    def f(b):  # noqa: F811
        return list(map(lambda v: v + 2, b))
    assert tokenize(f) != first


def test_partials_differ_by_arguments_and_keywords():
    assert tokenize(functools.partial(np.add, 1)) != tokenize(functools.partial(np.add, 2))
    assert tokenize(functools.partial(np.round, decimals=1)) \
        != tokenize(functools.partial(np.round, decimals=2))
    assert tokenize(functools.partial(np.add, 1)) == tokenize(functools.partial(np.add, 1))


def test_partials_of_redefined_functions_differ():
    def f(b, k):
        return b + k
    first = tokenize(functools.partial(f, k=1))

    def f(b, k):  # noqa: F811
        return b * k
    assert tokenize(functools.partial(f, k=1)) != first


class _Scale:
    def __init__(self, k):
        self.k = k

    def __call__(self, b):
        return b * self.k

    def apply(self, b):
        return b * self.k


def test_callable_objects_differ_by_state():
    assert tokenize(_Scale(1)) != tokenize(_Scale(2))
    assert tokenize(_Scale(1)) == tokenize(_Scale(1))


def test_bound_methods_differ_by_instance():
    assert tokenize(_Scale(1).apply) != tokenize(_Scale(2).apply)
    assert tokenize(_Scale(1).apply) == tokenize(_Scale(1).apply)


def test_builtins_and_ufuncs_are_tokenized_by_name():
    assert tokenize(np.add) == tokenize(np.add)
    assert tokenize(np.add) != tokenize(np.multiply)
    assert tokenize(np.sum) != tokenize(np.prod)
    assert tokenize(len) != tokenize(abs)


def test_self_referencing_values_terminate():
    loop = []
    loop.append(loop)
    assert tokenize(loop) == tokenize(loop)

    def countdown(n):
        return countdown(n - 1) if n else 0
    assert tokenize(countdown) == tokenize(countdown)


def test_unpicklable_objects_get_distinct_tokens():
    class Local:
        def __reduce__(self):
            raise TypeError("not picklable")
    a, b = Local(), Local()
    assert tokenize(a) != tokenize(b)
    assert tokenize(a) == tokenize(a)


_SCRIPT = textwrap.dedent("""
    import functools
    from lamina.tokenize import tokenize
    scale = 3
    def f(b, k=2):
        return b * k * scale
    def outer(k):
        return lambda b: b + k
    print(tokenize(f, outer(1), functools.partial(f, k=4), lambda b: b[:1]))
""")


def test_function_tokens_are_equal_across_processes():
    runs = {subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)}
    assert len(runs) == 1


def test_globals_of_main_functions_are_part_of_the_token():
    script = _SCRIPT + "scale = 4\nprint(tokenize(f, outer(1), functools.partial(f, k=4), " \
                       "lambda b: b[:1]))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] != out[1]
