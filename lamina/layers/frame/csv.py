"""CSV: one partition per file, read with ``pandas.read_csv``."""

from __future__ import annotations

import os
from typing import Any

from lamina.layers.base import Kernel
from lamina.layers.frame.sources import FrameSource
from lamina.layers.registry import trusted


@trusted(version=1)
class ReadCSV(FrameSource):
    """File ``paths[i]`` as partition ``i``; ``kwargs`` go to ``pandas.read_csv``."""

    _parameters = ("paths", "kwargs", "meta_")

    def _npartitions(self) -> int:
        return len(self.paths)

    def label(self) -> str:
        return f"ReadCSV[{os.path.basename(self.paths[0]) if self.paths else ''}]"

    def kernel(self) -> Kernel:
        import pandas as pd

        paths, kwargs, meta = self.paths, dict(self.kwargs), self.meta_
        dtypes = meta.dtypes.to_dict()

        def run(block: int, inputs: list) -> Any:
            frame = pd.read_csv(paths[block], **kwargs)
            if list(frame.columns) != list(meta.columns):
                raise ValueError(f"CSV file {paths[block]!r} has columns {list(frame.columns)}, "
                                 f"the first file has {list(meta.columns)}")
            return frame.astype(dtypes) if len(frame) else meta

        return run
