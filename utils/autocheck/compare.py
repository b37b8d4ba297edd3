"""Compare a learner's result with the expected one and say, in words, what differs.

The order of the checks is the order in which a learner should fix things: the type, then the
shape, then the dtype, then NaN/inf, then the values. Messages describe the learner's result and
*where* it is wrong; they never print the expected values.

torch and TensorFlow tensors are converted to NumPy (without importing either framework: a tensor
can only exist if its framework is already imported), and the message says so.

**The type policy**, the same for every exercise (the notebooks' introductions state it too):

- where the expected answer is a NumPy array, the answer must be an array: a list or a tuple of
  the right numbers is *incorrect*, with a message saying to wrap it in ``np.asarray(...)``
  (the next cell's ``lr * grad`` would fail on a list); a torch or TensorFlow tensor is accepted
  and converted;
- where the expected answer is a single number, any number is accepted: a Python ``float`` or
  ``int`` (``1`` for 1.0), a NumPy scalar, a 0-d array or tensor. A NumPy *integer* where a float
  is expected is flagged (it usually is an index or an integer division), and so is a float where
  an integer (an epoch, a count) is expected;
- a tuple or dict answer is compared item by item, each item under the same rules (a list is
  accepted where a tuple is expected, as unpacking treats them alike).

A near miss, every wrong value within :data:`NEAR_MISS` relative of the expected one, says how far
off it is relatively and asks about rounding or float32, even for a value exercise (which
otherwise never shows the size of its error).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: Largest relative error that counts as a near miss: the message then says how far off it is.
NEAR_MISS = 1e-2
PRECISION_HINT = "did you round a number, or compute in float32 somewhere?"

_FRAMEWORK_NAMES = {
    "torch": "a torch.Tensor",
    "tensorflow": "a TensorFlow tensor",
    "keras": "a Keras tensor",
    "jax": "a JAX array",
    "jaxlib": "a JAX array",
}


def framework_of(value: Any) -> str | None:
    """``"torch"``, ``"tensorflow"``, ... when ``value`` is a framework tensor, else None."""
    root = type(value).__module__.split(".", 1)[0]
    return root if root in _FRAMEWORK_NAMES and hasattr(value, "shape") else None


def to_numpy(value: Any) -> tuple[Any, str | None]:
    """Return ``value`` with framework tensors turned into NumPy arrays, and a note if converted.

    Containers (tuple, list, dict) are converted item by item.
    """
    framework = framework_of(value)
    if framework == "torch":
        tensor = value.detach().cpu()
        if str(tensor.dtype) == "torch.bfloat16":  # NumPy has no bfloat16
            tensor = tensor.float()
        return tensor.numpy(), _FRAMEWORK_NAMES[framework]
    if framework is not None:
        array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
        return np.asarray(array), _FRAMEWORK_NAMES[framework]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        converted = [to_numpy(item) for item in value]
        note = next((n for _, n in converted if n), None)
        return tuple(item for item, _ in converted), note
    if isinstance(value, list):
        converted = [to_numpy(item) for item in value]
        note = next((n for _, n in converted if n), None)
        return [item for item, _ in converted], note
    if isinstance(value, Mapping):
        converted = {key: to_numpy(item) for key, item in value.items()}
        note = next((n for _, n in converted.values() if n), None)
        return {key: item for key, (item, _) in converted.items()}, note
    return value, None


def describe_value(value: Any) -> str:
    """A short description of a value's type and shape: ``float64 array of shape (4, 3)``."""
    framework = framework_of(value)
    if framework is not None:
        return (
            f"{_FRAMEWORK_NAMES[framework]} of dtype {value.dtype} and shape {tuple(value.shape)}"
        )
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, np.generic):  # `float64 0.5`, not NumPy 2's `float64 np.float64(0.5)`
        return f"{type(value).__name__} {value.item()!r}"
    if isinstance(value, (bool, int, float)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of {len(value)} items"
    if value is None:
        return "None"
    return type(value).__name__


def _short_number(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.3g}"


def describe_input(value: Any) -> str:
    """A short description of a case's input, for the verdict's first line.

    Shapes and dtypes and a few numbers, never the whole value:
    ``float64 array (3, 4), [0.12, -1.3, 0.5, …]``, ``0.479``, ``a function``.
    """
    framework = framework_of(value)
    if framework is not None:
        return f"{_FRAMEWORK_NAMES[framework]} {value.dtype} {tuple(value.shape)}"
    if isinstance(value, np.ndarray) and value.ndim and value.dtype != object:
        head = ", ".join(_short_number(v) for v in value.flat[:3])
        more = ", …" if value.size > 3 else ""
        return f"{value.dtype} array {value.shape}, [{head}{more}]"
    if isinstance(value, (bool, int, float, np.generic, np.ndarray)):
        try:
            return _short_number(np.asarray(value).item())
        except (TypeError, ValueError):
            return type(value).__name__
    if callable(value):
        return "a function"
    if isinstance(value, Mapping):
        keys = ", ".join(str(key) for key in list(value)[:4])
        return f"dict with keys {keys}" + (", …" if len(value) > 4 else "")
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of {len(value)} items"
    if isinstance(value, str):
        return repr(value) if len(value) <= 20 else repr(value[:17] + "...")
    if value is None:
        return "None"
    return type(value).__name__


def _is_numeric(value: Any) -> bool:
    if isinstance(value, (bool, int, float, complex, np.generic, np.ndarray)):
        return True
    return False


def _fmt_index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def _fmt_number(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return f"{value:.6g}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def difference(
    got: Any,
    expected: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    path: str = "your result",
    reveal_error: bool = True,
    values: bool = True,
) -> str | None:
    """Return None when ``got`` matches ``expected``, else one or two sentences saying how not.

    ``expected`` may be a number, an array, or a tuple/list/dict of those (compared item by item).
    ``reveal_error=False`` hides the size of the error, for exercises whose answer is one number
    (a near miss still says how far off it is, relatively, to one digit). ``values=False``
    compares only the structure (types, shapes, dtypes, NaN/inf), for an exercise whose values
    are judged otherwise (:attr:`utils.autocheck.spec.Exercise.judge`).
    """
    options = {
        "rtol": rtol,
        "atol": atol,
        "path": path,
        "reveal_error": reveal_error,
        "values": values,
    }
    if isinstance(expected, Mapping):
        return _mapping_difference(got, expected, options)
    if isinstance(expected, (tuple, list)):
        return _sequence_difference(got, expected, options)
    if _is_numeric(expected):
        return _array_difference(got, expected, options)
    if values and got != expected:
        return f"{path} is not what was expected (it is a {type(got).__name__})."
    return None


def _mapping_difference(got, expected, options) -> str | None:
    path = options["path"]
    if not isinstance(got, Mapping):
        keys = sorted(expected)
        return f"{path} should be a dict with keys {keys}, but it is {describe_value(got)}."
    missing = [key for key in expected if key not in got]
    extra = [key for key in got if key not in expected]
    if missing or extra:
        return f"{path} has keys {sorted(got)}; expected keys {sorted(expected)}."
    for key, value in expected.items():
        message = difference(got[key], value, **{**options, "path": f"{path}[{key!r}]"})
        if message:
            return message
    return None


def _sequence_difference(got, expected, options) -> str | None:
    path = options["path"]
    fields = getattr(expected, "_fields", None)
    if not isinstance(got, (tuple, list)):
        kind = type(expected).__name__
        return (
            f"{path} should be a {kind} of {len(expected)} items, but it is {describe_value(got)}."
        )
    if len(got) != len(expected):
        return f"{path} has {_plural(len(got), 'item')}; expected {len(expected)}."
    for i, (got_item, expected_item) in enumerate(zip(got, expected, strict=True)):
        item_path = f"{path}.{fields[i]}" if fields else f"{path}[{i}]"
        message = difference(got_item, expected_item, **{**options, "path": item_path})
        if message:
            return message
    return None


def _array_difference(got, expected, options) -> str | None:
    path, rtol, atol = options["path"], options["rtol"], options["atol"]
    if isinstance(got, (tuple, list)) and isinstance(expected, np.ndarray) and expected.ndim:
        kind = type(got).__name__
        return (
            f"{path} is a {kind}; expected a NumPy array of shape {expected.shape}. Wrap it in "
            f"`np.asarray(...)`: NumPy arithmetic such as `lr * grad` does not work on a {kind}."
        )
    expected = np.asarray(expected)
    if isinstance(got, (str, bytes, Mapping)) or got is None:
        return f"{path} should be a number or an array, but it is {describe_value(got)}."
    try:
        got_array = np.asarray(got)
    except (TypeError, ValueError):
        return f"{path} should be a number or an array, but it is {describe_value(got)}."
    if got_array.dtype == object:
        return f"{path} should be a number or an array, but it is {describe_value(got)}."
    if isinstance(got, int) and not isinstance(got, bool) and expected.dtype.kind == "f":
        got_array = got_array.astype(expected.dtype)  # a number typed as `1` is the number 1.0

    if got_array.shape != expected.shape:
        if expected.shape == ():
            return f"{path} has shape {got_array.shape}; expected a single number (shape ())."
        return f"{path} has shape {got_array.shape}; expected shape {expected.shape}."

    message = _dtype_difference(got_array, expected, path)
    if message:
        return message
    if expected.dtype.kind not in "fc":  # integers and booleans must match exactly
        bad = got_array != expected
        if options["values"] and bad.any():
            return _mismatch_sentence(path, bad, got_array, None, options)
        return None

    message = _nonfinite_difference(got_array, expected, path)
    if message or not options["values"]:
        return message
    close = np.isclose(got_array, expected, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    got_float, expected_float = got_array.astype(np.float64), expected.astype(np.float64)
    error = np.abs(got_float - expected_float)
    error = np.where(np.isfinite(error), error, np.inf)
    tolerance = atol + rtol * np.abs(expected_float)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(expected_float != 0, error / np.abs(expected_float), np.inf)
    return _mismatch_sentence(path, ~close, got_array, (error, tolerance, relative), options)


def _dtype_difference(got: np.ndarray, expected: np.ndarray, path: str) -> str | None:
    if got.dtype.kind == "b" and expected.dtype.kind != "b":
        return f"{path} holds booleans (dtype bool); expected dtype {expected.dtype}."
    if expected.dtype.kind in "fc" and got.dtype.kind in "iu":
        return (
            f"{path} has integer dtype {got.dtype}; expected floating-point values "
            f"(dtype {expected.dtype}). Did an integer division or an int array creep in?"
        )
    if expected.dtype.kind in "iu" and got.dtype.kind not in "iu":
        return f"{path} has dtype {got.dtype}; expected integers (dtype {expected.dtype})."
    if expected.dtype.kind == "f" and got.dtype.kind == "f" and got.dtype != expected.dtype:
        return (
            f"{path} has dtype {got.dtype}; expected {expected.dtype}, the dtype of the inputs. "
            "Keep the inputs' precision (no casts, no float32 framework round trip)."
        )
    return None


def _nonfinite_difference(got: np.ndarray, expected: np.ndarray, path: str) -> str | None:
    expected_finite = np.isfinite(expected)
    for kind, bad, reason in (
        (
            "NaN",
            np.isnan(got) & ~np.isnan(expected),
            "look for 0/0, inf − inf or log of a negative",
        ),
        (
            "−inf (log of 0?)",
            np.isneginf(got) & expected_finite,
            "the log of a probability, or of an exp that underflowed, that is 0",
        ),
        (
            "inf",
            np.isposinf(got) & expected_finite,
            "did something overflow, e.g. exp of a large number, or is it −log(0) or x/0",
        ),
    ):
        if bad.any():
            where = f"{_where(bad)} " if bad.ndim else ""
            # A NaN may sit where ±inf is expected (a fully masked log-sum-exp is −inf).
            wanted = "a finite value" if expected_finite[bad].all() else "a number, not NaN,"
            return f"{path} contains {kind} {where}where {wanted} is expected ({reason}?)."
    return None


def _where(bad: np.ndarray) -> str:
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"at {bad.sum()} of {bad.size} positions (first at index {_fmt_index(first)})"


def _one_digit(value: float) -> str:
    """``3e-4``, not ``3e-04``: a relative error rounded to one significant digit."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _mismatch_sentence(path, bad, got, errors, options) -> str:
    """Where the values differ; the size of the error unless hidden; a near miss says so."""
    near = errors is not None and bool(np.all(errors[2][bad] <= NEAR_MISS))
    shown = errors is not None and options["reveal_error"]
    if bad.ndim == 0:
        sentence = f"{path} ({_fmt_number(got.item())}) is not the expected value"
        if shown:
            error, tolerance, relative = (float(e) for e in errors)
            sentence += f": it is off by {error:.2g} (tolerance {tolerance:.2g})"
            if near:
                return f"{sentence}, {relative:.2g} relative: {PRECISION_HINT}"
        elif near:  # a value exercise: one rounded digit, never the error itself
            return (
                f"{sentence}, but close: off by about {_one_digit(float(errors[2]))} relative "
                f"(the check allows {_one_digit(options['rtol'])}): {PRECISION_HINT}"
            )
        return sentence + "."
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    sentence = (
        f"{path} differs from the expected values at {bad.sum()} of {bad.size} positions; "
        f"the first is index {_fmt_index(first)}, where you have {_fmt_number(got[first])}"
    )
    if shown:
        error, tolerance, _ = errors
        sentence += (
            f" (off by {float(error[first]):.2g}, tolerance {float(tolerance[first]):.2g}; "
            f"largest error {float(error.max()):.2g})"
        )
    if near:
        largest = _one_digit(float(np.max(errors[2][bad])))
        return (
            f"{sentence}. Every difference is small, at most {largest} relative: {PRECISION_HINT}"
        )
    return sentence + "."


def same_answer(a: Any, b: Any, *, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """True when two answers agree: same structure, same shapes, values close (NaN == NaN)."""
    a, _ = to_numpy(a)
    b, _ = to_numpy(b)
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (
            isinstance(a, Mapping)
            and isinstance(b, Mapping)
            and a.keys() == b.keys()
            and all(same_answer(a[k], b[k], rtol=rtol, atol=atol) for k in a)
        )
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (
            isinstance(a, (tuple, list))
            and isinstance(b, (tuple, list))
            and len(a) == len(b)
            and all(same_answer(x, y, rtol=rtol, atol=atol) for x, y in zip(a, b, strict=True))
        )
    if a is None or b is None:
        return a is b
    try:
        a_array, b_array = np.asarray(a), np.asarray(b)
        if a_array.shape != b_array.shape or object in (a_array.dtype, b_array.dtype):
            return False
        return bool(np.allclose(a_array, b_array, rtol=rtol, atol=atol, equal_nan=True))
    except (TypeError, ValueError):
        return False


def arrays_equal(a: Any, b: Any) -> bool:
    """Exact equality (NaN == NaN) for checking that an input was not modified."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) or framework_of(a):
        a_array, b_array = np.asarray(to_numpy(a)[0]), np.asarray(to_numpy(b)[0])
        if a_array.shape != b_array.shape or a_array.dtype != b_array.dtype:
            return False
        return bool(np.array_equal(a_array, b_array, equal_nan=a_array.dtype.kind in "fc"))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(arrays_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(arrays_equal(x, y) for x, y in zip(a, b, strict=True))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - objects whose == is not a bool
        return a is b
