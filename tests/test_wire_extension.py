"""The value codec's extension hook, and the import boundary it makes possible.

A type the codec does not know travels, through an ``Extension``, as rows
of the message's node table: equal objects once, children before parents.
Without the extension such a message is refused with a ``WireError`` that
says what to do, as is an unknown extension type. The value codec
(``lamina.comm``) imports nothing else of lamina, and the expression codec
(``lamina.layers.codec``) nothing of ``lamina.comm``.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import msgpack
import numpy as np
import pytest

from lamina.comm.wire import MAGIC, WIRE_VERSION, Blob, WireError, dumps, loads, nodes_of

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


@dataclasses.dataclass(frozen=True)
class Segment:
    start: Point
    end: Point


class Geometry:
    """An extension for ``Point`` and ``Segment``: one row per distinct object."""

    def __init__(self) -> None:
        self.decoded = 0

    def claims(self, obj):
        return isinstance(obj, (Point, Segment))

    def encode(self, obj, out):
        if obj in out.rows:
            return out.rows[obj]
        if isinstance(obj, Point):
            return out.add_row(obj, ["point", obj.x, obj.y])
        return out.add_row(obj, ["segment", out.walk(obj.start), out.walk(obj.end)])

    def decode(self, fields, into):
        self.decoded += 1
        kind, *rest = fields
        if kind == "point":
            return Point(*rest)
        if kind == "segment":
            return Segment(*rest)
        raise ValueError(f"no geometry kind {kind!r}")


def test_a_plugged_in_type_round_trips():
    a, b = Point(0, 1), Point(2, 3)
    value = {"shapes": [Segment(a, b), Segment(b, a)], "origin": a, "data": np.arange(4)}
    back = loads(dumps(value, extension=Geometry()), extension=Geometry())
    assert back["shapes"] == value["shapes"] and back["origin"] == a
    assert back["shapes"][0].start is back["origin"], "one object per row"
    np.testing.assert_array_equal(back["data"], np.arange(4))


def test_equal_objects_are_sent_once_children_first():
    a, b = Point(0, 1), Point(2, 3)
    frames = dumps([Segment(a, b)] * 1000 + [a] * 1000, extension=Geometry())
    assert nodes_of(frames, extension=Geometry()) == [a, b, Segment(a, b)]
    assert len(frames[0]) < 100 + 2000 * 4, "each later reference costs a few bytes"


def test_each_row_is_decoded_once():
    geometry = Geometry()
    loads(dumps([Point(1, 1)] * 50, extension=Geometry()), extension=geometry)
    assert geometry.decoded == 1


def test_without_an_extension_unknown_objects_are_pickled():
    frames = dumps({"p": Point(1, 2)})
    assert isinstance(loads(frames, load_blobs=False)["p"], Blob)
    assert loads(frames)["p"] == Point(1, 2)


def test_a_node_table_without_its_extension_is_refused_with_the_fix():
    frames = dumps({"p": Point(1, 2)}, extension=Geometry())
    with pytest.raises(WireError, match="decode it with the extension"):
        loads(frames)


def test_an_unknown_extension_type_is_a_wire_error():
    header = MAGIC + bytes([WIRE_VERSION]) + msgpack.packb([[], msgpack.ExtType(99, b"")])
    with pytest.raises(WireError, match="unknown extension type 99"):
        loads([header])


def test_an_extension_refusing_a_row_gives_a_wire_error():
    a = Point(0, 0)

    class Refusing(Geometry):
        def decode(self, fields, into):
            return super().decode(("pentagon",), into)

    frames = dumps(a, extension=Geometry())
    with pytest.raises(WireError, match="pentagon"):
        loads(frames, extension=Refusing())


def _modules_after(code: str, package: str) -> list[str]:
    """lamina modules loaded by ``code`` in a fresh interpreter, with the
    ``lamina`` package's own ``__init__`` skipped so only ``package`` and
    what it imports are loaded."""
    prelude = (
        "import sys, types, json\n"
        f"pkg = types.ModuleType('lamina'); pkg.__path__ = [{str(ROOT / 'lamina')!r}]\n"
        "sys.modules['lamina'] = pkg\n"
        f"import {package}\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", prelude + code
         + "\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('lamina'))))"],
        capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.splitlines()[-1])


def test_the_value_codec_loads_nothing_of_lamina_outside_comm():
    code = (
        "import numpy as np\n"
        "from lamina.comm.wire import Blob, Packed, dumps, loads\n"
        "inner = dumps({'a': np.arange(3)})\n"
        "msg = {'x': np.ones((3, 4)), 'f': Blob.dump(len), 'g': len, 'p': Packed(inner)}\n"
        "back = loads(dumps(msg))\n"
        "assert back['g'] is len and back['x'].shape == (3, 4)\n"
        "loads(dumps(msg), load_blobs=False)\n"
    )
    modules = _modules_after(code, "lamina.comm.wire")
    assert "lamina.comm.wire" in modules
    assert all(m == "lamina" or m.startswith("lamina.comm") for m in modules), modules


def test_the_expression_codec_loads_nothing_of_comm():
    modules = _modules_after("", "lamina.layers.codec")
    assert "lamina.layers.codec" in modules
    assert not [m for m in modules if m.startswith("lamina.comm")], modules


def _lamina_imports(folder: Path) -> set[tuple[str, str]]:
    """(file, module) for every import of a lamina module in ``folder``,
    including imports inside functions."""
    found = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found |= {(path.name, n) for n in names if n.split(".")[0] == "lamina"}
    return found


def test_comm_sources_import_only_comm():
    outside = {(f, m) for f, m in _lamina_imports(ROOT / "lamina" / "comm")
               if not m.startswith("lamina.comm")}
    assert not outside, f"lamina/comm imports {outside}: comm must stay layer-agnostic"


def test_layer_sources_never_import_comm():
    into_comm = {(f, m) for f, m in _lamina_imports(ROOT / "lamina" / "layers")
                 if m.startswith("lamina.comm")}
    assert not into_comm, f"lamina/layers imports {into_comm}: plug in through the extension"
