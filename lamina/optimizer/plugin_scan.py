"""A quick look for the ``lamina.rules`` group before asking ``importlib.metadata``.

``importlib.metadata.entry_points`` parses the metadata of every installed
distribution (a quarter of a second with a couple of hundred installed),
which a process paid before its first computation. Reading the
``entry_points.txt`` files as text and looking for the group's name takes
milliseconds; only when some file names it (or a path entry is not a plain
folder that this scan can read) does ``load_plugins`` ask ``importlib.metadata``.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys

METADATA_SUFFIXES = (".dist-info", ".egg-info")


def group_may_be_declared(group: str) -> bool:
    """False only when no distribution on ``sys.path`` can declare entry points of ``group``."""
    for finder in sys.meta_path:
        if hasattr(finder, "find_distributions") and \
                finder is not importlib.machinery.PathFinder:
            return True  # distributions this scan cannot see
    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                return True  # a zip archive: leave it to importlib
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith(METADATA_SUFFIXES) and _names(os.path.join(folder, name), group):
                return True
    return False


def _names(folder: str, group: str) -> bool:
    try:
        with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8",
                  errors="replace") as f:
            return group in f.read()
    except OSError:
        return False
