"""DLPack exchange: ``from_dlpack`` wraps another library's array as one block.

    x = la.from_dlpack(torch_tensor)     # or any object with __dlpack__
    np.from_dlpack(la_array)             # computes, then shares NumPy's buffer

An Array exports its computed result (``Array.__dlpack__``); there is no
zero-copy view of a lazy expression.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.array.info import check_device


def from_dlpack(x: Any, /, *, device: Any = None, copy: bool | None = None) -> Array:
    """An Array over the data of a DLPack-exporting object (a lamina Array: itself)."""
    from lamina.array.creation import from_array

    check_device(device)
    if isinstance(x, Array):
        return Array(x.layer) if copy else x
    data = np.from_dlpack(x, copy=copy)
    return from_array(data, chunks=-1)
