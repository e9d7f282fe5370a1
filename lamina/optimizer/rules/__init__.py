"""The built-in rules, one family per module, registered on import::

    cse          simplify, canonical   commutative_order, commutative_order_after_fusion
    cull         simplify              drop_noops, slice_into_source
    slices       simplify              slice_fusion, slice_through_elementwise,
                                       slice_through_transpose, slice_through_rechunk,
                                       slice_through_concatenate, slice_through_reduction
    blockwise    fuse                  blockwise_fusion
    speculative  hints                 speculative_hints
    frames       simplify              projection_through_filter, projection_into_parquet,
                                       predicate_into_parquet
    frame_projection simplify          projection_pushdown, drop_noop_projection
    frame_predicates simplify          filter_through_merge
    frame_head   simplify              head_cull
    frame_reads  merge_reads           merge_parquet_reads
    frame_joins  strategy              join_strategy
    frame_fusion fuse                  partitionwise_fusion
"""

from lamina.optimizer.registry import register
from lamina.optimizer.rules import (
    blockwise,
    cse,
    cull,
    frame_fusion,
    frame_head,
    frame_joins,
    frame_predicates,
    frame_projection,
    frame_reads,
    frames,
    slices,
    speculative,
)

BUILTIN_RULES = [*cse.RULES, *cull.RULES, *slices.RULES, *blockwise.RULES, *speculative.RULES,
                 *frames.RULES, *frame_head.RULES, *frame_reads.RULES, *frame_joins.RULES,
                 *frame_projection.RULES, *frame_predicates.RULES,
                 *frame_fusion.RULES]
register(*BUILTIN_RULES)

__all__ = ["BUILTIN_RULES"]
