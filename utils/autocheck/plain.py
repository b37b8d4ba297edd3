"""Plain data: what a learner's answer produced, in a form that can leave the learner's kernel.

When the grader runs a submission, the learner's functions run in the learner's kernel, but the
verdict is reached in the grader's own process (see :mod:`utils.autocheck.grade`). What crosses
between the two is *plain data* only:

- ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``;
- NumPy arrays (not of dtype object) and NumPy scalars;
- tuples, lists and dicts of those (dict keys: str, int, float, bool or None); a namedtuple
  becomes a tuple, a dict subclass a dict;
- :class:`Opaque` for anything else (a function, a generator, an object of the learner's own
  class, an object array), which keeps only its type's name, so that a verdict can still say
  "it is a generator";
- :class:`TooLarge` for a value over the size limit, which keeps a description of it.

:func:`to_plain` makes plain data from any value (torch and TensorFlow tensors become NumPy
arrays, as in :func:`~utils.autocheck.compare.to_numpy`); it never calls the value's own methods.
:func:`dump` and :func:`load` write and read a dict of plain data as a zip file with one JSON
document and one ``.npy`` file per array. Reading never unpickles anything (``allow_pickle=False``)
and checks every size and every node of the document, so a file written by code the grader does
not trust can at worst be refused.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .compare import framework_of, to_numpy

#: The largest value :func:`to_plain` carries (bytes of array data and text, roughly).
MAX_BYTES = 16 * 2**20
#: The largest file :func:`load` reads.
MAX_FILE_BYTES = 256 * 2**20
MAX_DEPTH = 32
_KEY_TYPES = (str, int, float, bool, type(None))


class Opaque:
    """A value that cannot leave the kernel; only the name of its type does.

    ``type(opaque).__name__`` is the original type's name (``describe_value`` shows it), and two
    opaque values are equal when their types' names are.
    """

    type_name = "object"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.type_name == self.type_name

    def __hash__(self) -> int:
        return hash(self.type_name)

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


@lru_cache(maxsize=256)
def _opaque_class(type_name: str) -> type[Opaque]:
    return type(type_name, (Opaque,), {"type_name": type_name, "__module__": __name__})


def opaque(type_name: str) -> Opaque:
    """A stand-in for a value of type ``type_name``."""
    return _opaque_class(str(type_name)[:100])()


class TooLarge(Opaque):
    """A value over :data:`MAX_BYTES`; ``description`` says what it was."""

    type_name = "too large"

    def __init__(self, description: str) -> None:
        self.description = description

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TooLarge) and other.description == self.description

    def __hash__(self) -> int:
        return hash(self.description)

    def __repr__(self) -> str:
        return f"<too large: {self.description}>"


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, size: int) -> bool:
        self.left -= size
        return self.left >= 0


def to_plain(value: Any, limit: int = MAX_BYTES) -> Any:
    """``value`` as plain data; the whole value is :class:`TooLarge` when it exceeds ``limit``."""
    budget = _Budget(limit)
    plain = _plain(value, budget, 0)
    if budget.left < 0:
        return TooLarge(_describe(value))
    return plain


def _describe(value: Any) -> str:
    if type(value) is np.ndarray:
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, (tuple, list, dict, str)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _plain(value: Any, budget: _Budget, depth: int) -> Any:
    kind = type(value)
    if not budget.spend(8) or depth > MAX_DEPTH:
        return opaque(kind.__name__)
    if value is None or kind in (bool, float, complex):
        return value
    if kind is int:
        return value if value.bit_length() <= 4096 else opaque("int")
    if kind is str:
        budget.spend(len(value))
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return opaque("object array")
        budget.spend(value.nbytes)
        return np.array(value, subok=False) if budget.left >= 0 else None
    if isinstance(value, np.generic):
        budget.spend(value.nbytes)
        return value
    if framework_of(value) is not None:
        return _plain(to_numpy(value)[0], budget, depth + 1)
    if isinstance(value, (tuple, list)):
        items = [_plain(item, budget, depth + 1) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        if not all(type(key) in _KEY_TYPES for key in value):
            return opaque(kind.__name__)
        return {key: _plain(item, budget, depth + 1) for key, item in value.items()}
    for base in (bool, int, float, complex, str):  # subclasses (an IntEnum, a str subclass)
        if isinstance(value, base):
            return _plain(base(value), budget, depth)
    return opaque(kind.__name__)


# ---------------------------------------------------------------------------------------------
# Files: one JSON document and one .npy per array, in an uncompressed zip
# ---------------------------------------------------------------------------------------------


class UnreadableOutputs(ValueError):
    """A file that is not what :func:`dump` writes (or is too large)."""


def dump(path: Path | str, record: dict[str, Any]) -> None:
    """Write ``record``, a dict of plain data, to ``path``."""
    arrays: list[np.ndarray] = []
    document = json.dumps(_encode(record, arrays), allow_nan=False)
    partial = Path(str(path) + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("record.json", document)
        for number, array in enumerate(arrays):
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            archive.writestr(f"a{number}.npy", buffer.getvalue())
    partial.replace(path)  # a reader never sees half a file


def _encode(value: Any, arrays: list[np.ndarray]) -> Any:
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if type(value) is complex:
        return {"complex": [_encode(value.real, arrays), _encode(value.imag, arrays)]}
    if isinstance(value, (np.ndarray, np.generic)):
        arrays.append(np.asarray(value))
        tag = "array" if isinstance(value, np.ndarray) else "scalar"
        return {tag: len(arrays) - 1}
    if isinstance(value, TooLarge):
        return {"too large": value.description}
    if isinstance(value, Opaque):
        return {"opaque": value.type_name}
    if type(value) is list:
        return [_encode(item, arrays) for item in value]
    if type(value) is tuple:
        return {"tuple": [_encode(item, arrays) for item in value]}
    if type(value) is dict:
        return {"dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    raise TypeError(f"not plain data: {type(value).__name__}")


def load(path: Path | str) -> dict[str, Any]:
    """Read a record written by :func:`dump`; raise :class:`UnreadableOutputs` for anything else."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UnreadableOutputs(f"{path.name} is larger than {MAX_FILE_BYTES} bytes")
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if sum(info.file_size for info in members.values()) > MAX_FILE_BYTES:
                raise UnreadableOutputs(f"{path.name} unpacks to too many bytes")
            document = json.loads(archive.read("record.json"))
            count = len(members) - 1
            names = [f"a{number}.npy" for number in range(count)]
            if set(members) != {"record.json", *names}:
                raise UnreadableOutputs(f"{path.name} holds unexpected members")
            arrays = [
                np.lib.format.read_array(io.BytesIO(archive.read(name)), allow_pickle=False)
                for name in names
            ]
        record = _decode(document, arrays, 0)
    except UnreadableOutputs:
        raise
    except Exception as error:  # noqa: BLE001 - whatever is wrong, the file is refused
        raise UnreadableOutputs(f"{path.name}: {type(error).__name__}: {error}") from None
    if not isinstance(record, dict):
        raise UnreadableOutputs(f"{path.name} does not hold a record")
    return record


def _decode(node: Any, arrays: list[np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH + 8:
        raise UnreadableOutputs("nested too deeply")
    if node is None or type(node) in (bool, int, float, str):
        return node
    if type(node) is list:
        return [_decode(item, arrays, depth + 1) for item in node]
    if type(node) is not dict or len(node) != 1:
        raise UnreadableOutputs(f"unexpected node {str(node)[:80]}")
    ((tag, content),) = node.items()
    if tag in ("array", "scalar") and type(content) is int and 0 <= content < len(arrays):
        array = arrays[content]
        return array if tag == "array" else array[()]
    if tag == "float" and content in ("nan", "inf", "-inf"):
        return float(content)
    if tag == "complex" and type(content) is list and len(content) == 2:
        real, imag = (_decode(part, arrays, depth + 1) for part in content)
        if type(real) is float and type(imag) is float:
            return complex(real, imag)
    if tag == "too large" and type(content) is str:
        return TooLarge(content[:200])
    if tag == "opaque" and type(content) is str:
        return opaque(content)
    if tag == "tuple" and type(content) is list:
        return tuple(_decode(item, arrays, depth + 1) for item in content)
    if tag == "dict" and type(content) is list:
        pairs = [_decode_pair(pair, arrays, depth) for pair in content]
        return dict(pairs)
    raise UnreadableOutputs(f"unexpected node {str(node)[:80]}")


def _decode_pair(pair: Any, arrays: list[np.ndarray], depth: int) -> tuple[Any, Any]:
    if type(pair) is not list or len(pair) != 2:
        raise UnreadableOutputs("a dict entry is not a pair")
    key = _decode(pair[0], arrays, depth + 1)
    if type(key) not in _KEY_TYPES:
        raise UnreadableOutputs("a dict key is not a plain scalar")
    return key, _decode(pair[1], arrays, depth + 1)
