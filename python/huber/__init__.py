"""Robust regression losses with PyTorch's element losses and exact reductions.

huber computes Huber loss and its family (SmoothL1, MSE, L1, log-cosh, pseudo-Huber) over numpy
arrays, or over the files the ``huber`` command reads, on all cores, without holding the GIL.
Element losses are PyTorch's, bit for bit; every mean and sum is the exact sum rounded once, so
it does not depend on threads, batches or how the data was split.

>>> import numpy as np, huber
>>> pred = np.array([0.0, 2.0, -3.0], dtype=np.float32)
>>> target = np.array([0.5, 0.0, 0.0], dtype=np.float32)
>>> huber.huber_loss(pred, target)
np.float32(1.375)
>>> huber.huber_loss(pred, target, reduction="none")
array([0.125, 1.5  , 2.5  ], dtype=float32)
"""

from __future__ import annotations

import json
import numbers
import operator
import os
import re
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from . import _huber
from ._huber import DataError

__all__ = [
    "DataError",
    "Metric",
    "Result",
    "Cells",
    "evaluate",
    "grad",
    "huber_loss",
    "l1_loss",
    "log_cosh_loss",
    "loss",
    "merge",
    "mse_loss",
    "pseudo_huber_loss",
    "smooth_l1_loss",
]

__version__ = "0.1.0"

DataError.__doc__ = """Bad or unreadable data: a missing file, a bad format, a value that is not a
number, a NaN under ``nan="raise"``. A subclass of :class:`ValueError`.

Attributes ``input``, ``line``, ``column``, ``field`` and ``file`` name where, when the message
does (``line`` and ``column`` for CSV, ``line`` and ``field`` for JSON Lines, 1-based; ``file``
the shard of a dataset ``input``; otherwise None)."""
DataError.input = None
DataError.line = None
DataError.column = None
DataError.field = None
DataError.file = None

#: Loss names, as ``loss=`` takes them.
LOSSES = ("huber", "smooth_l1", "mse", "l1", "log_cosh", "pseudo_huber")

_PARAM = {"huber": "delta", "pseudo_huber": "delta", "smooth_l1": "beta"}

# Keras' and PyTorch's reduction names, to huber's.
_REDUCTIONS = {
    None: "none",
    "none": "none",
    "mean": "mean",
    "sum": "sum",
    "weighted_mean": "weighted-mean",
    "weighted-mean": "weighted-mean",
    "sum_over_batch_size": "mean",
    "mean_with_sample_weight": "weighted-mean",
}

# The command line's flags in the engine's messages, as this package's arguments.
_FLAGS = [
    (re.compile(r"--reduction none|-r none"), "reduction='none'"),
    (re.compile(r"--reduction weighted-mean|-r weighted-mean"), "reduction='weighted_mean'"),
    (re.compile(r"--reduction (\w+)|-r (\w+)"), lambda m: f"reduction='{m.group(1) or m.group(2)}'"),
    (re.compile(r"^weighted-mean divides"), "reduction='weighted_mean' divides"),
    (re.compile(r"--nan error"), "nan='raise'"),
    (re.compile(r"--nan (\w+)"), lambda m: f"nan='{m.group(1)}'"),
    (re.compile(r"--(weight|threads|axis|by|top|delimiter)\b"), lambda m: f"{m.group(1)}="),
    (re.compile(r"--grad\b"), "grad()"),
    (re.compile(r"--broadcast\b"), "broadcast=True"),
    (re.compile(r"--squeeze pairs them one to one \(numpy's squeeze\)"), "np.squeeze (a view) pairs them one to one"),
    (re.compile(r"--squeeze pairs"), "np.squeeze pairs"),
    (re.compile(r"-d auto\b"), "delta='auto'"),
    (re.compile(r"--(delta|beta) ([-+]?(?:\d|inf|nan)[\w.+-]*)"), r"\1=\2"),
    (re.compile(r"--(delta|beta)\b"), r"\1"),
    # Notes, which Python gives as warnings (silenced by a warnings filter, not -q).
    (re.compile(r"pass --header \(--no-header or -q silences this note\)"), "pass header=True (header=False silences this warning)"),
    (re.compile(r" \(-q silences this note\)"), ""),
    # An array's keys are named once: the option and the input are the same argument here.
    (re.compile(r"^by= by: "), "by: "),
]

# Where a text input's bad value is: `INPUT: line L, column C` at the start of the message, or in
# parentheses at its end, after what is wrong (`the loss of element 1 is NaN (d.csv:pred: line 3,
# column 1)`). A path may hold parentheses itself (`run (1)/e.csv`).
# JSON Lines names a field where CSV names a column; a Parquet, Arrow or NPY shard of a dataset is
# named with a row (`(d:pred: d/part-0.parquet: row 510 (from 0))`).
_AT = r": line (?P<line>\d+)(?:, column (?P<column>\d+)|, field '(?P<field>[^'\n]*)')?"
_WHERE = (
    re.compile(r"^(?:(?:pred|target|weight|by)= )?(?P<input>[^\n]*?)" + _AT),
    re.compile(r" \((?P<input>[^\n]*?)" + _AT + r"\)$"),
    re.compile(r" \((?P<input>[^\n]*?): (?P<file>[^\n]*?): row (?P<row>\d+) \(from 0\)\)$"),
)
# The argument an input's message starts with, where it names one (`by= d.csv:store: …`).
_ARGUMENT = re.compile(r"^(?:pred|target|weight|by)= ")


def _pythonic(message: str) -> str:
    for pattern, repl in _FLAGS:
        message = pattern.sub(repl, message)
    return message


def _raise_from_engine(e: Exception, inputs: tuple = ()) -> None:
    """Re-raises an engine error with the command line's flags spelt as arguments; a
    :class:`DataError` gets the input it names (one of ``inputs``, the INPUT texts given, where
    it names no line) and the line and column."""
    message = _pythonic(str(e))
    if isinstance(e, DataError):
        err = DataError(message)
        where = _WHERE[1].search(message) or _WHERE[0].match(message)
        shard = _WHERE[2].search(message)
        if where:
            err.input = where["input"]
            err.line = int(where["line"])
            err.column = int(where["column"]) if where["column"] else None
            err.field = where["field"]
            # A dataset's shard after the argument's INPUT (`d:pred: d/part-1.csv: line 3`).
            given = [i for i in inputs if isinstance(i, str) and err.input.startswith(i + ": ")]
            if given:
                err.input, err.file = given[0], err.input[len(given[0]) + 2:]
        elif shard:
            err.input, err.file = shard["input"], shard["file"]
        else:
            text = _ARGUMENT.sub("", message)
            named = [i for i in inputs if isinstance(i, str) and text.startswith(i + ":")]
            err.input = max(named, key=len) if named else None
        raise err from None
    raise type(e)(message) from None


def _input(x: Any, name: str, detach: bool = False) -> Any:
    """Argument ``name`` as the engine takes it: INPUT text, or a C-contiguous numpy array. A
    torch tensor that requires grad is detached where ``detach`` (a metric's batch, as
    torchmetrics detaches it; huber.grad's inputs), else refused with the hint: a loss's value
    from huber carries no gradient."""
    if isinstance(x, (str, os.PathLike)):
        return os.fspath(x)
    if getattr(x, "requires_grad", False) and hasattr(x, "detach"):
        if not detach:
            raise TypeError(
                f"{name}: a tensor that requires grad; huber's value is not part of an autograd graph: "
                f"pass {name}.detach(), or take the gradient from huber.grad"
            )
        x = x.detach()
    try:
        a = np.asarray(x)
    except TypeError as e:
        # A torch bfloat16 tensor, which numpy has no type for.
        if "BFloat16" in str(e):
            raise TypeError(
                "a bfloat16 tensor: huber reads bool, integer and float16/32/64 arrays; "
                "convert it first, e.g. with t.float()"
            ) from None
        raise
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    return a


def _as_argument(name: str) -> str:
    """A loss or reduction name of the engine (``smooth-l1``, ``weighted-mean``, as the JSON
    writes them) as the arguments spell it."""
    return name.replace("-", "_")


def _threads(threads: Any) -> int:
    """``threads=`` as an int: an integer (numpy's too) from 0 (all cores) to the limit."""
    import operator

    try:
        n = operator.index(threads) if not isinstance(threads, bool) else None
    except TypeError:
        n = None
    if n is None or not 0 <= n <= _huber.MAX_THREADS:
        raise ValueError(f"threads={threads!r}: an integer from 0 (all cores) to {_huber.MAX_THREADS}")
    return n


def _caller_level() -> int:
    """The ``stacklevel`` of the first caller outside this package, for warnings."""
    import sys

    here = os.path.dirname(__file__) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(here):
        frame, level = frame.f_back, level + 1
    return level


def _fortran(*arrays: Any) -> bool:
    """Whether every array is a Fortran-ordered (not C-ordered) array of one shape: read as their
    transposes, which are C-ordered views, and no copy is made."""
    present = [a for a in arrays if a is not None]
    return all(
        isinstance(a, np.ndarray)
        and a.ndim > 1
        and a.flags.f_contiguous
        and not a.flags.c_contiguous
        and a.shape == present[0].shape
        for a in present
    )


def _params(kind: str, delta: Any, beta: Any) -> list[float] | None:
    """The parameter values: one or several, or None for δ from the residuals (``"auto"``)."""
    kind = _kind(kind)
    name = _PARAM.get(kind)
    given = beta if name == "beta" else delta
    if name == "beta" and delta is not None:
        # The generic parameter (loss()'s fourth, positional) is smooth_l1's beta; not both.
        if beta is not None:
            raise ValueError(f"{kind} takes one parameter, beta: delta={delta!r} and beta={beta!r} were both given")
        given = delta
    if name == "delta" and beta is not None:
        # As the command line refuses --beta here: huber(δ) is not smooth_l1(β = δ) but at 1.
        raise ValueError(f"beta={beta!r} does not apply to the {kind} loss: its parameter is delta")
    if name is None:
        if any(v is not None and not (isinstance(v, (int, float)) and v == 1.0) for v in (delta, beta)):
            raise ValueError(f"{kind} takes no parameter (delta/beta)")
        return [1.0]
    if given is None:
        return [1.0]
    if isinstance(given, str):
        if given == "auto" and name == "delta":
            return None
        raise ValueError(f"{name}={given!r}: a number, a sequence of numbers, or 'auto'")
    # Numbers only (a Decimal and a Fraction are numbers): not True, b'1' or a nested list read flat.
    def number(v: Any) -> bool:
        real = isinstance(v, (numbers.Number, np.number)) and not isinstance(v, (complex, np.complexfloating))
        return real and not isinstance(v, (bool, np.bool_))

    values = np.asarray(given)
    if number(given) or (values.ndim == 0 and values.dtype.kind in "iuf"):
        return [float(given)]
    if values.ndim == 1 and all(number(v) for v in values):
        return [float(v) for v in values]
    raise ValueError(f"{name}={given!r}: a number, a sequence of numbers, or 'auto'")


def _several(delta: Any, beta: Any) -> bool:
    """Whether several parameter values are given (one result each)."""
    return any(v is not None and not isinstance(v, str) and np.ndim(v) > 0 for v in (delta, beta))


def _kind(name: str) -> str:
    kind = name[: -len("_loss")] if name.endswith("_loss") else name
    kind = kind.replace("-", "_")
    if kind == "smoothl1":
        kind = "smooth_l1"
    if kind not in LOSSES:
        raise ValueError(f"loss={name!r}: not one of {', '.join(LOSSES)}")
    return kind


def _reduction(reduction: Any) -> str:
    try:
        return _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        names = ", ".join(repr(k) for k in _REDUCTIONS)
        raise ValueError(f"reduction={reduction!r}: not one of {names}") from None


def _nan(nan: str) -> str:
    if nan not in ("propagate", "omit", "raise", "error"):
        raise ValueError(f"nan={nan!r}: not one of 'propagate', 'omit', 'raise' (or 'error', as the command line spells it)")
    return nan


def _axis(axis: Any) -> list[int] | None:
    if axis is None:
        return None
    axes = [axis] if np.ndim(axis) == 0 else list(axis)
    out = []
    for a in axes:
        # Integers only, as numpy's axis= takes them (1.0 and True are not axes).
        try:
            if isinstance(a, (bool, np.bool_)) or np.asarray(a).dtype == np.bool_:
                raise TypeError
            out.append(operator.index(a))
        except TypeError:
            raise TypeError(f"axis={axis!r}: an integer or a sequence of integers") from None
    return out


def _labels(by: Any) -> tuple[Any, Any]:
    """Group labels as the engine takes them: INPUT text as is; an array of any labels as int64
    codes into its sorted unique labels (returned too). A missing label (None, NaN, NaT,
    pandas' NA) gets the code ``len(uniques)``, whose group is left out, as pandas' ``groupby``
    leaves it out (and huber.dask)."""
    if by is None or isinstance(by, (str, os.PathLike)):
        return (None if by is None else os.fspath(by)), None
    labels = _label_array(by)
    if labels.dtype.kind in "biu" and labels.dtype.itemsize <= 8 and labels.dtype != np.uint64:
        return np.ascontiguousarray(labels), None
    flat = labels.ravel()
    missing = _missing(flat)
    try:
        uniques, codes = np.unique(flat[~missing], return_inverse=True)
    except TypeError:
        kinds = sorted({type(x).__name__ for x in flat[~missing]})
        raise TypeError(
            f"by=: labels of several types ({', '.join(kinds)}) do not sort into groups; "
            "cast them to one first, e.g. with .astype(str)"
        ) from None
    out = np.full(flat.shape, len(uniques), dtype=np.int64)
    out[~missing] = codes.ravel()
    return out.reshape(labels.shape), uniques


def _label_array(by: Any) -> np.ndarray:
    """Labels as a numpy array. A pandas column of nullable integers or bools (``Int64``,
    ``boolean``), or a categorical one of them, keeps its integers with None where missing, not
    floats (numpy's reading of it when it holds a missing value, which would make keys 1.0 in
    one partition and 1 in the next)."""
    dtype = getattr(by, "dtype", None)
    if type(dtype).__name__ == "CategoricalDtype":
        # A category's label is its value, read as its categories' dtype reads (integers as
        # integers, not the floats numpy makes of them beside a missing value); missing where
        # the code is -1.
        codes = np.asarray(getattr(by, "cat", by).codes)
        values = _label_array(dtype.categories)
        if (codes >= 0).all():
            return values[codes]
        labels = np.full(codes.shape, None, dtype=object)
        labels[codes >= 0] = values[codes[codes >= 0]]
        return labels
    kind = getattr(getattr(dtype, "numpy_dtype", None), "kind", None)
    if hasattr(by, "to_numpy") and kind is not None and kind in "iub":
        if getattr(by, "hasnans", False):
            return by.to_numpy(dtype=object, na_value=None)
        return by.to_numpy(dtype=dtype.numpy_dtype)
    return np.asarray(by)


def _missing(labels: np.ndarray) -> np.ndarray:
    """Which labels are missing: NaN, NaT, and in an object array also None and pandas' NA."""
    kind = labels.dtype.kind
    if kind in "fc":
        return np.isnan(labels)
    if kind in "mM":
        return np.isnat(labels)
    if kind != "O":
        return np.zeros(labels.shape, dtype=bool)

    def gone(x: Any) -> bool:
        if x is None or type(x).__name__ in ("NAType", "NaTType"):
            return True
        if isinstance(x, (float, np.floating)):
            return bool(np.isnan(x))
        return isinstance(x, (np.datetime64, np.timedelta64)) and bool(np.isnat(x))

    return np.fromiter((gone(x) for x in labels), dtype=bool, count=len(labels))


def _label_key(label: Any) -> Any:
    """A label as a group key: bools and integers as themselves, text as text, other labels
    (floats, dates) as their text."""
    if isinstance(label, (np.datetime64, np.timedelta64)):
        # Before the integers: a timedelta64 is a numpy integer.
        return str(label)
    if isinstance(label, (bool, np.bool_)):
        return bool(label)
    if isinstance(label, (int, np.integer)):
        return int(label)
    if isinstance(label, bytes):
        return label.decode("utf-8", "backslashreplace")
    if isinstance(label, (float, np.floating)):
        return repr(float(label))
    return str(label)


def _run(
    pred: Any,
    target: Any,
    *,
    loss: str = "huber",
    delta: Any = None,
    beta: Any = None,
    weight: Any = None,
    reduction: Any = "mean",
    nan: str = "propagate",
    grad: bool = False,
    broadcast: bool = False,
    threads: int = 0,
    axis: Any = None,
    by: Any = None,
    top: int | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
) -> tuple[str, Any]:
    kind = _kind(loss)
    params = _params(kind, delta, beta)
    red = _reduction(reduction)
    pred, target = _input(pred, "pred", grad), _input(target, "target", grad)
    weight = None if weight is None else _input(weight, "weight", grad)
    by, uniques = _labels(by)
    threads = _threads(threads)
    if top is not None and (isinstance(top, bool) or int(top) != top or top < 1):
        raise ValueError(f"top={top!r}: an integer count of at least 1")
    transposed = (
        axis is None and by is None and top is None and not broadcast and _fortran(pred, target, weight)
    )
    if transposed:
        pred, target = pred.T, target.T
        weight = None if weight is None else weight.T
    try:
        kind_out, results, _, notes = _huber.run(
            pred, target, weight, kind, params, red, _nan(nan), grad, broadcast, threads,
            _axis(axis), by, top, delimiter, header,
        )
    except (ValueError, TypeError) as e:
        _raise_from_engine(e, (pred, target, weight, by))
    for note in notes:
        # What the command line notes on stderr: a broadcast that grows the data (as PyTorch
        # warns when broadcasting is likely to lead to a wrong result), a first line of numbers
        # read as data (never taken silently).
        warnings.warn(_pythonic(note), UserWarning, stacklevel=_caller_level())
    if transposed and kind_out == "elements":
        results = results.T
    if kind_out == "groups" and uniques is not None:
        results = [r.with_key("by", _label_key(uniques[r.key])) for r in results if r.key < len(uniques)]
    return kind_out, results


class Result:
    """One scalar result: its value, the exact state it was rounded from, and what it is of.

    ``value`` is a numpy scalar of the result dtype (``float32`` for float32 inputs), so a float32
    result compares equal to itself; ``sum``, ``count``, ``linear_fraction``, ``shape`` and
    ``state`` are as ``huber -f json`` writes them. Results pickle, and ``to_json`` /
    :meth:`from_json` round-trip through the command line's JSON (``huber merge`` reads it).

    >>> import numpy as np, huber
    >>> r = huber.evaluate(np.array([0.0, 3.0]), np.array([1.0, 0.0]), delta=1.0)
    >>> r.value, r.count, r.linear_fraction
    (np.float64(1.5), 2, 1.0)
    >>> huber.Result.from_json(r.to_json()) == r
    True
    """

    __slots__ = ("_r", "worst")

    def __init__(self, record: Any, worst: Any = None) -> None:
        self._r = record
        #: For ``top=``: the worst elements (index, loss, pred, target, …), worst first.
        self.worst = worst

    @property
    def value(self) -> np.floating:
        """The result, rounded once to ``dtype``."""
        return np.dtype(self._r.dtype).type(self._r.value)

    @property
    def sum(self) -> float:
        """The sum of the (weighted) element losses, rounded once to float64."""
        return self._r.sum

    @property
    def count(self) -> int:
        """Elements counted."""
        return self._r.count

    @property
    def linear_fraction(self) -> float | None:
        """Share of counted elements with ``|pred - target| >= delta`` (losses with a threshold)."""
        return self._r.linear_fraction

    @property
    def dtype(self) -> np.dtype:
        """The result dtype: float16, float32 or float64."""
        return np.dtype(self._r.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        """The inputs' shape (joined along the first axis by merges)."""
        return self._r.shape

    @property
    def loss(self) -> str:
        """The loss's name, as ``loss=`` takes it (``smooth_l1``; the JSON writes ``smooth-l1``)."""
        return _as_argument(self._r.loss)

    @property
    def delta(self) -> float | None:
        """δ of huber and pseudo-huber results."""
        p = self._r.param
        return p[1] if p and p[0] == "delta" else None

    @property
    def beta(self) -> float | None:
        """β of smooth_l1 results."""
        p = self._r.param
        return p[1] if p and p[0] == "beta" else None

    @property
    def reduction(self) -> str:
        """``mean``, ``sum`` or ``weighted_mean``, as ``reduction=`` takes it."""
        return _as_argument(self._r.reduction)

    @property
    def weight_sum(self) -> float | None:
        """For a weighted mean: the weights' exact sum, rounded to float64."""
        return self._r.weight_sum

    @property
    def key(self) -> Any:
        """For a per-group result: the group's key."""
        return self._r.key

    @property
    def state(self) -> dict:
        """The exact accumulator state as the JSON carries it (``sum`` as an exact hexadecimal
        float, ``linear`` count); a weighted mean's ``weight_state`` too."""
        record = json.loads(self._r.to_json())
        state = {"state": record["state"]}
        if "weight_state" in record:
            state["weight_state"] = record["weight_state"]
        return state

    def to_json(self) -> str:
        """The result as ``huber -f json`` writes it."""
        return self._r.to_json()

    def to_dict(self) -> dict:
        """The result's JSON as a dict."""
        return json.loads(self._r.to_json())

    @classmethod
    def from_json(cls, text: str) -> "Result | list[Result]":
        """Reads what :meth:`to_json`, ``huber -f json`` or ``huber merge`` wrote: one result, or a
        list for a text holding several. A record huber could not have written raises
        :class:`DataError` naming the field."""
        records = _huber.parse(text, "JSON text")
        results = [cls(r) for r in records]
        return results[0] if text.lstrip().startswith("{") else results

    def __reduce__(self) -> tuple:
        return (_result_from_json, (self._r.to_json(), self.worst))

    def __eq__(self, other: object) -> bool:
        # Records, not numbers: two results of the same state are equal, a NaN value too (its
        # JSON says NaN alike), whatever the name of the input their labels came from (`by`).
        if not isinstance(other, Result):
            return False
        if self._r == other._r:
            return True
        return _unlabelled(self._r.to_json()) == _unlabelled(other._r.to_json())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        param = f", {self._r.param[0]}={self._r.param[1]!r}" if self._r.param else ""
        key = f", key={self.key!r}" if self._r.by is not None else ""
        return (
            f"Result({self.loss}{param}, {self.reduction}{key}: value={self.value!r}, "
            f"count={self.count}, dtype={self.dtype.name})"
        )


def _result_from_json(text: str, worst: Any = None) -> Result:
    return Result(_huber.parse(text, "pickled result")[0], worst)


def _unlabelled(text: str) -> str:
    """A result's JSON without the name of its labels' input, for comparing."""
    record = json.loads(text)
    record.pop("by", None)
    return json.dumps(record, sort_keys=True)


class Cells:
    """Per-cell results of ``axis=``: ``values`` (result dtype), ``counts``, ``sums``,
    ``linear_fractions`` and ``weight_sums`` are numpy arrays of the kept ``shape``."""

    def __init__(self, d: dict) -> None:
        self.loss: str = _as_argument(d["loss"])
        self.param: float | None = d["param"]
        self.reduction: str = _as_argument(d["reduction"])
        self.axes: tuple[int, ...] = tuple(d["axes"])
        self.shape: tuple[int, ...] = tuple(d["shape"])
        self.dtype = np.dtype(d["dtype"])
        self.values: np.ndarray = d["values"].astype(self.dtype)
        self.counts: np.ndarray = d["counts"]
        self.sums: np.ndarray = d["sums"]
        self.linear_fractions: np.ndarray | None = d.get("linear_fractions")
        self.weight_sums: np.ndarray | None = d.get("weight_sums")

    def __repr__(self) -> str:
        return f"Cells({self.loss}, {self.reduction} over axes {self.axes}: shape {self.shape}, dtype={self.dtype.name})"


def _frame(columns: dict) -> Any:
    """A table: a pandas DataFrame when pandas is installed, else a polars one, else the dict of
    numpy arrays."""
    try:
        import pandas as pd

        return pd.DataFrame(columns)
    except ImportError:
        pass
    try:
        import polars as pl

        return pl.DataFrame(columns)
    except ImportError:
        return columns


def _groups_table(records: list, several: bool) -> Any:
    results = [Result(r) for r in records]
    dtype = results[0].dtype if results else np.dtype(np.float64)
    columns = {"key": np.asarray([r.key for r in results])}
    if several:
        columns["param"] = np.array([r._r.param[1] if r._r.param else np.nan for r in results])
    columns["value"] = np.array([r._r.value for r in results], dtype=dtype)
    columns["count"] = np.array([r.count for r in results], dtype=np.uint64)
    return _frame(columns)


def _worst_table(table: dict, shape: tuple) -> Any:
    columns = dict(table)
    if "file" in columns:
        # Text, also when no row is listed.
        columns["file"] = np.array(columns["file"], dtype=object)
    if len(shape) > 1 and len(columns["index"]):
        columns["position"] = list(zip(*np.unravel_index(columns["index"].astype(np.intp), shape)))
    return _frame(columns)


def _values(kind_out: str, results: Any, several: bool) -> Any:
    """The functions' return value for each kind of outcome."""
    if kind_out == "elements":
        return results
    if kind_out == "scalars":
        values = [Result(r).value for r in results]
        return np.array(values, dtype=values[0].dtype) if several else values[0]
    if kind_out == "cells":
        cells = [Cells(c) for c in results]
        return np.stack([c.values for c in cells]) if several else cells[0].values
    if kind_out == "groups":
        return _groups_table(results, several)
    tables = [_worst_table(t, tuple(r.shape)) for r, t in results]
    return tables if several else tables[0]


def loss(
    pred: Any,
    target: Any,
    loss: str = "huber",
    delta: Any = None,
    *,
    beta: Any = None,
    weight: Any = None,
    reduction: Any = "mean",
    nan: str = "propagate",
    axis: Any = None,
    by: Any = None,
    top: int | None = None,
    broadcast: bool = False,
    threads: int = 0,
) -> Any:
    """Any loss of the family by name: ``huber``, ``smooth_l1``, ``mse``, ``l1``, ``log_cosh``,
    ``pseudo_huber``.

    ``pred``, ``target`` and ``weight`` are numpy arrays (anything ``np.asarray`` takes: lists,
    CPU torch tensors) of any dtype huber reads, or the command line's INPUT strings
    (``"preds.parquet:pred"``). ``delta`` (or ``beta``) may be a sequence: one result per value.

    Returns, by what is asked:

    - ``reduction="mean"``/``"sum"``/``"weighted_mean"``: a numpy scalar of the result dtype
      (an array of them for several parameter values);
    - ``reduction="none"`` (or None): the element losses, an array of pred's shape;
    - ``axis=``: an array of the kept shape;
    - ``by=`` (labels of pred's shape, or INPUT text): a table of ``key``, ``value``, ``count``
      (a pandas DataFrame when pandas is installed, else polars, else a dict of arrays);
    - ``top=K``: a table of the K worst elements (``index``, ``loss``, ``pred``, ``target``).

    >>> import numpy as np, huber
    >>> huber.loss([0.0, 2.0], [1.0, 0.0], "mse", reduction="sum")
    np.float64(5.0)
    """
    if (
        type(pred) is np.ndarray
        and type(target) is np.ndarray
        and weight is None
        and axis is None
        and by is None
        and top is None
        and not broadcast
        and beta is None
        and isinstance(threads, int)
        and threads == 0
    ):
        fast = _fast(pred, target, loss, delta, reduction, nan)
        if fast is not _SLOW:
            return fast
    several = _several(delta, beta)
    kind_out, results = _run(
        pred, target, loss=loss, delta=delta, beta=beta, weight=weight, reduction=reduction,
        nan=nan, broadcast=broadcast, threads=threads, axis=axis, by=by, top=top,
    )
    return _values(kind_out, results, several)


_SLOW = object()
_SCALARS = {"float16": np.float16, "float32": np.float32, "float64": np.float64}
_FAST_KINDS = {name: name for name in LOSSES} | {f"{name}_loss": name for name in LOSSES}
_FAST_REDUCTIONS = {"mean": "mean", "sum": "sum", "none": "none", None: "none", "sum_over_batch_size": "mean"}


def _fast(pred: np.ndarray, target: np.ndarray, loss: str, delta: Any, reduction: Any, nan: str) -> Any:
    """The common call (two C-ordered arrays, one δ, no breakdown) with the fewest steps: the
    per-call cost of a small batch is mostly this function's."""
    kind = _FAST_KINDS.get(loss)
    red = _FAST_REDUCTIONS.get(reduction) if reduction is None or type(reduction) is str else None
    if (
        kind is None
        or red is None
        or nan not in ("propagate", "omit", "raise")
        or not (pred.flags.c_contiguous and target.flags.c_contiguous)
    ):
        return _SLOW
    if kind in _PARAM:
        if delta is None:
            params = [1.0]
        elif type(delta) in (float, int):
            params = [float(delta)]
        else:
            return _SLOW
    elif delta is None:
        params = [1.0]
    else:
        return _SLOW
    try:
        out = _huber.reduce(pred, target, kind, params[0], red, nan)
    except (ValueError, TypeError) as e:
        _raise_from_engine(e)
    if type(out) is tuple:
        return _SCALARS[out[0]](out[1])
    return out


def huber_loss(
    pred: Any, target: Any, delta: Any = 1.0, *, weight: Any = None, reduction: Any = "mean",
    nan: str = "propagate", axis: Any = None, by: Any = None, top: int | None = None,
    broadcast: bool = False, threads: int = 0,
) -> Any:
    """Huber loss, as ``torch.nn.functional.huber_loss(pred, target, reduction, delta)``:
    ``0.5 r²`` for ``|r| < δ``, else ``δ (|r| - 0.5 δ)``, with ``r = pred - target``.

    ``delta`` may be a sequence (one result each) or ``"auto"`` (δ = 1.345 · 1.4826 · MAD of
    the residuals). See :func:`loss` for the arguments and what is returned.

    >>> import numpy as np, huber
    >>> p = np.array([[0.0, 2.0], [-3.0, 0.5]], dtype=np.float32)
    >>> huber.huber_loss(p, np.zeros_like(p), delta=[0.5, 1.0])
    array([0.59375, 1.03125], dtype=float32)
    """
    return loss(pred, target, "huber", delta, weight=weight, reduction=reduction, nan=nan,
                axis=axis, by=by, top=top, broadcast=broadcast, threads=threads)


def smooth_l1_loss(
    pred: Any, target: Any, beta: Any = 1.0, *, weight: Any = None, reduction: Any = "mean",
    nan: str = "propagate", axis: Any = None, by: Any = None, top: int | None = None,
    broadcast: bool = False, threads: int = 0,
) -> Any:
    """Smooth L1 loss, as ``torch.nn.functional.smooth_l1_loss(pred, target, beta=beta)``:
    ``0.5 r² / β`` for ``|r| < β``, else ``|r| - 0.5 β``. See :func:`loss`.

    >>> import huber
    >>> huber.smooth_l1_loss([0.0, 3.0], [0.5, 0.0], beta=1.0, reduction="none")
    array([0.125, 2.5  ])
    """
    return loss(pred, target, "smooth_l1", None, beta=beta, weight=weight, reduction=reduction,
                nan=nan, axis=axis, by=by, top=top, broadcast=broadcast, threads=threads)


def mse_loss(
    pred: Any, target: Any, *, weight: Any = None, reduction: Any = "mean", nan: str = "propagate",
    axis: Any = None, by: Any = None, top: int | None = None, broadcast: bool = False,
    threads: int = 0,
) -> Any:
    """Mean squared error, as ``torch.nn.functional.mse_loss``. See :func:`loss`.

    >>> import huber
    >>> huber.mse_loss([1.0, 2.0], [0.0, 0.0])
    np.float64(2.5)
    """
    return loss(pred, target, "mse", weight=weight, reduction=reduction, nan=nan, axis=axis,
                by=by, top=top, broadcast=broadcast, threads=threads)


def l1_loss(
    pred: Any, target: Any, *, weight: Any = None, reduction: Any = "mean", nan: str = "propagate",
    axis: Any = None, by: Any = None, top: int | None = None, broadcast: bool = False,
    threads: int = 0,
) -> Any:
    """Mean absolute error, as ``torch.nn.functional.l1_loss``. See :func:`loss`.

    >>> import huber
    >>> huber.l1_loss([1.0, -2.0], [0.0, 0.0])
    np.float64(1.5)
    """
    return loss(pred, target, "l1", weight=weight, reduction=reduction, nan=nan, axis=axis,
                by=by, top=top, broadcast=broadcast, threads=threads)


def log_cosh_loss(
    pred: Any, target: Any, *, weight: Any = None, reduction: Any = "mean", nan: str = "propagate",
    axis: Any = None, by: Any = None, top: int | None = None, broadcast: bool = False,
    threads: int = 0,
) -> Any:
    """Log-cosh loss, ``log(cosh(r))`` (as Keras' ``LogCosh``, computed without overflow).
    See :func:`loss`.

    >>> import huber
    >>> huber.log_cosh_loss([0.0], [0.0])
    np.float64(0.0)
    """
    return loss(pred, target, "log_cosh", weight=weight, reduction=reduction, nan=nan, axis=axis,
                by=by, top=top, broadcast=broadcast, threads=threads)


def pseudo_huber_loss(
    pred: Any, target: Any, delta: Any = 1.0, *, weight: Any = None, reduction: Any = "mean",
    nan: str = "propagate", axis: Any = None, by: Any = None, top: int | None = None,
    broadcast: bool = False, threads: int = 0,
) -> Any:
    """Pseudo-Huber loss, ``δ² (sqrt(1 + (r/δ)²) - 1)``. See :func:`loss`.

    >>> import huber
    >>> float(huber.pseudo_huber_loss([0.0], [0.0]))
    0.0
    """
    return loss(pred, target, "pseudo_huber", delta, weight=weight, reduction=reduction, nan=nan,
                axis=axis, by=by, top=top, broadcast=broadcast, threads=threads)


def grad(
    pred: Any, target: Any, loss: str = "huber", delta: Any = None, *, beta: Any = None,
    weight: Any = None, reduction: Any = "mean", nan: str = "propagate", broadcast: bool = False,
    threads: int = 0,
) -> np.ndarray:
    """The gradient of the reduced loss with respect to ``pred``, an array of pred's shape: what
    ``torch.autograd`` gives for ``pred.grad`` after ``loss.backward()``, bit for bit.

    >>> import numpy as np, huber
    >>> huber.grad(np.array([0.0, 2.0]), np.array([0.5, 0.0]), reduction="sum")
    array([-0.5,  1. ])
    """
    kind_out, results = _run(
        pred, target, loss=loss, delta=delta, beta=beta, weight=weight, reduction=reduction,
        nan=nan, grad=True, broadcast=broadcast, threads=threads,
    )
    return results


def evaluate(
    pred: Any,
    target: Any,
    *,
    loss: str = "huber",
    delta: Any = None,
    beta: Any = None,
    weight: Any = None,
    reduction: Any = "mean",
    nan: str = "propagate",
    axis: Any = None,
    by: Any = None,
    top: int | None = None,
    broadcast: bool = False,
    threads: int = 0,
    delimiter: str | None = None,
    header: bool | None = None,
) -> Any:
    """Computes a loss as the command line does and returns result objects.

    ``pred``, ``target``, ``weight`` and ``by`` are numpy arrays or the command line's INPUT
    strings (``"eval.csv:pred"``, ``"preds.parquet:pred"``, ``"p.npz:y"``). Returns a
    :class:`Result` (with ``worst`` for ``top=``), a list of them for several parameter values or
    for ``by=`` (one per group, with ``key``), :class:`Cells` for ``axis=``, or the element losses
    for ``reduction="none"``.

    >>> import numpy as np, huber
    >>> r = huber.evaluate(np.array([0.0, 2.0, -3.0]), np.zeros(3), delta=[1.0, 2.0])
    >>> [float(x.value) for x in r]
    [1.3333333333333333, 2.0]
    """
    several = _several(delta, beta)
    kind_out, results = _run(
        pred, target, loss=loss, delta=delta, beta=beta, weight=weight, reduction=reduction,
        nan=nan, broadcast=broadcast, threads=threads, axis=axis, by=by, top=top,
        delimiter=delimiter, header=header,
    )
    if kind_out == "elements":
        return results
    if kind_out == "cells":
        cells = [Cells(c) for c in results]
        return cells if several else cells[0]
    if kind_out == "top":
        out = [Result(r, _worst_table(t, tuple(r.shape))) for r, t in results]
        return out if several else out[0]
    out = [Result(r) for r in results]
    return out if several or kind_out == "groups" else out[0]


def _shard(item: Any, i: int) -> tuple[str, list]:
    if isinstance(item, Result):
        return f"result {i + 1}", [item._r]
    if isinstance(item, (str, bytes)):
        text = item.decode() if isinstance(item, bytes) else item
        return f"result {i + 1}", _huber.parse(text, f"result {i + 1}")
    if isinstance(item, Metric):
        return f"metric {i + 1}", list(item._records() or [])
    if isinstance(item, Cells):
        raise TypeError(
            f"merge: item {i + 1} is an axis= result (Cells), whose cells hold rounded values, not "
            "states: compute over all the data, or merge per-group results (by=)"
        )
    if not hasattr(item, "__iter__"):
        raise TypeError(f"merge: item {i + 1} ({type(item).__name__}) is not a Result, a list of them, or JSON text")
    items = list(item)
    if not all(isinstance(r, Result) for r in items):
        raise TypeError(f"merge: item {i + 1} is not a Result, a list of them, or JSON text")
    return f"result {i + 1}", [r._r for r in items]


def merge(results: Iterable[Any]) -> Any:
    """Merges results of parts of the data exactly, as ``huber merge`` does: the same bits as one
    run over all of it. Each item is a :class:`Result`, a list of them (one part's results of
    several parameter values, or its groups), or JSON text written by ``huber -f json`` or
    :meth:`Result.to_json`.

    >>> import numpy as np, huber
    >>> x = np.arange(10.0)
    >>> a, b = huber.evaluate(x[:3], 0 * x[:3]), huber.evaluate(x[3:], 0 * x[3:])
    >>> huber.merge([a, b]) == huber.evaluate(x, 0 * x)
    True
    """
    shards = [_shard(item, i) for i, item in enumerate(results)]
    if not shards:
        raise ValueError("merge: nothing to merge")
    try:
        merged = _huber.merge(shards)
    except ValueError as e:
        _raise_from_engine(e)
    out = [Result(r) for r in merged]
    single = len(out) == 1 and all(len(s[1]) == 1 and s[1][0].by is None for s in shards)
    return out[0] if single else out


from ._metric import Metric  # noqa: E402
