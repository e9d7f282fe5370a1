"""Testing tools for rule authors: random expressions and ``check_rule``.

    from lamina.testing import array_expressions, check_rule
    check_rule(my_rule)                               # proves it on random expressions
    check_rule(my_rule, expressions=array_expressions(ops=("unary", "slice")))
"""

from lamina.testing.check import CheckReport, bit_equal, check_expression, check_plan, check_rule
from lamina.testing.strategies import (
                                  Expression,
                                  array_expressions,
                                  basic_indices,
                                  chunks_for,
                                  raw_compute,
                                  shapes,
                                  sources,
)

__all__ = ["CheckReport", "Expression", "array_expressions", "basic_indices", "bit_equal",
           "check_expression", "check_plan", "check_rule", "chunks_for", "raw_compute", "shapes",
           "sources"]
