"""The optimizer: a traversal engine, and rules kept apart from it.

    import lamina.optimizer as lo
    (y,) = lo.optimize(x[:100][5] + 1)          # collections in, collections out
    plan = lo.optimize_plan([x.layer])           # layers, hints and the trace
    lo.optimize_layers([x.layer])                # what compute runs
    lo.visualize(y, "plan.svg")                  # the layer graph

Rules are small named objects grouped into phases (simplify -> fuse ->
hints); see ``lamina.optimizer.rule`` to write one and
``lamina.optimizer.registry`` to plug it in (entry-point group
``lamina.rules``). ``set_options`` switches the optimizer, or single rules,
off. ``lamina.explain`` shows what the optimizer did to an expression.
"""

from lamina.layers.fused import Fused
from lamina.optimizer.engine import OptimizerError, run_phase, run_phases
from lamina.optimizer.options import Options, options, set_options
from lamina.optimizer.pipeline import Plan, optimize, optimize_layers, optimize_plan
from lamina.optimizer.registry import (
                                       Phase,
                                       all_rules,
                                       get_rule,
                                       load_plugins,
                                       phases,
                                       register,
                                       register_phase,
                                       unregister,
)
from lamina.optimizer.rule import Context, Rule, rule
from lamina.optimizer.visualize import visualize

__all__ = [
    "Context", "Fused", "OptimizerError", "Options", "Phase", "Plan", "Rule",
    "all_rules", "get_rule", "load_plugins", "optimize", "optimize_layers",
    "optimize_plan", "options", "phases", "register", "register_phase", "rule", "run_phase",
    "run_phases", "set_options", "unregister", "visualize",
]
