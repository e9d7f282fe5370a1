"""Linear-algebra layer types and the block kernels they run.

The algorithms in ``lamina.linalg`` (TSQR, randomized SVD, PCA, compressed
persistence) build these layers; a scheduler plans them from their
parameters alone, without importing the algorithms. The modules here hold
the layers (``pass_layers``, ``combine``, ``tsqr_layers``, ``sources``,
``genotypes``, ``encode``) and the numeric helpers their kernels call
(``products``, ``packing`` with the compiled ``_bits``, ``payload``,
``codecs``, ``exact``, ``scaling``, ``signs``, ``memory``).
"""
