"""Losses over Dask arrays and dataframes, through Dask's own reduction machinery.

Each partition's task computes the exact state of its elements with huber's engine (in the
worker, without the GIL); Dask's tree reduction merges the states (``split_every`` wide) exactly,
and the last step rounds once. Nothing but the states (a few hundred bytes each) leaves a worker,
and the result is bit-identical to one in-process run over all the data, for every partitioning,
tree shape and worker count.

>>> import dask.array as da, numpy as np, huber, huber.dask
>>> x = np.linspace(-3, 3, 1001, dtype=np.float32)
>>> lazy = huber.dask.huber_loss(da.from_array(x, chunks=97), da.zeros(1001, dtype=np.float32, chunks=97))
>>> lazy.compute() == huber.evaluate(x, np.zeros(1001, np.float32))
True

``pred``, ``target``, ``weight`` and ``by`` are Dask arrays of one shape (target, weight and by
are rechunked to pred's chunks) or Dask series (``ddf["pred"]``), paired by position partition by
partition (not by index; partitions of different lengths are refused). ``by`` gives
one result per label; rows whose label is missing are left out, as pandas' ``groupby`` does.
``reduction="none"`` returns a Dask array of element losses (``map_blocks``).

Columns of a plain ``dd.read_parquet`` of local files (see ``_parquet_files``) are read in the
workers by huber's own Parquet reader, a task per file, rather than through pyarrow, pandas and
numpy: the same states, so the same bits (docs/PYTHON.md, "Parquet read by huber in the workers").
"""

from __future__ import annotations

import numbers
import os
import re
from typing import Any

import numpy as np

import huber

__all__ = ["loss", "huber_loss", "smooth_l1_loss", "mse_loss", "l1_loss", "log_cosh_loss", "pseudo_huber_loss"]


def _state(pred: Any, target: Any, weight: Any, by: Any, opts: dict) -> list:
    """One partition's results: a list of huber.Result (one per δ, or per δ and group; a missing
    label's rows in no group, as huber.evaluate leaves them out)."""
    pred = np.ravel(pred)
    target = np.ravel(target)
    weight = None if weight is None else np.ravel(weight)
    if by is not None:
        by = np.ravel(by)
        if len(by) == 0:
            return []
    out = huber.evaluate(pred, target, weight=weight, by=by, **opts)
    return out if isinstance(out, list) else [out]


def _merge(states: list) -> Any:
    nans = [s for s in states if isinstance(s, _NaNs)]
    if nans:
        return _NaNs([item for s in nans for item in s.found])
    states = [s for s in states if s]
    if not states:
        return []
    if len(states) == 1:
        return states[0]
    try:
        merged = huber.merge(states)
    except huber.DataError as e:
        # Results of one call differ only where the partitions do: in their columns' dtypes
        # (shards written as float32 and as float64), which a reduction must not round away.
        if "keys" in str(e):
            hint = "labels of one type; cast by= first, e.g. ddf['store'].astype(str)"
        else:
            hint = "the same dtypes; cast the columns to one first, e.g. ddf.astype({'pred': 'float64', 'target': 'float64'})"
        raise huber.DataError(f"the partitions' results do not merge: {e}. Every partition must hold {hint}") from e
    return merged if isinstance(merged, list) else [merged]


def _flatten(x: Any) -> list:
    """The states in a nested list of object arrays (what `da.reduction` hands over)."""
    if isinstance(x, list):
        return [s for item in x for s in _flatten(item)]
    if isinstance(x, np.ndarray):
        return [item for item in x.ravel()]
    return [x]


def _boxed(states: list, ndim: int, keepdims: bool) -> np.ndarray:
    out = np.empty((1,) * ndim if keepdims else (), dtype=object)
    out[(0,) * out.ndim] = states
    return out


def _block(pred: np.ndarray, target: np.ndarray, *rest: np.ndarray, opts: dict, weighted: bool,
           block_id: Any = None) -> np.ndarray:
    weight = rest[0] if weighted else None
    by = rest[-1] if len(rest) > int(weighted) else None
    try:
        state = _state(pred, target, weight, by, opts)
    except huber.DataError as e:
        found = _ELEMENT.search(str(e))
        if found is None or block_id is None:
            raise
        # Raised by the last step, which knows where the blocks are (a block knows only its
        # index: its place, for every block, would cost each task more than its work).
        state = _NaNs([(tuple(block_id), np.unravel_index(int(found[1]), pred.shape), str(e))])
    return _boxed(state, pred.ndim, True)


class _NaNs:
    """Blocks, files or partitions whose element loss was NaN under ``nan="raise"``: each block's
    index, the element in it and the message; each file's place in the dataset, its path and the
    message; or each partition's number, None and the message. Merged as states are,
    raised by the last step for the first."""

    def __init__(self, found: list) -> None:
        self.found = found

    def raise_first(self, chunks: tuple) -> None:
        starts = [np.cumsum((0, *c)) for c in chunks]
        shape = tuple(int(sum(c)) for c in chunks)

        def flat(item: tuple) -> int:
            block, at, _ = item
            return _flat([s[b] for s, b in zip(starts, block)], at, shape)

        first = min(self.found, key=flat)
        raise _renumbered(huber.DataError(first[2]), lambda i: flat(first))

    def raise_first_part(self) -> None:
        """For files (the Parquet route) or dataframe partitions, found as (place, path or None,
        message): the first file's as the dataset lists them, or the first partition's."""
        _, path, message = min(self.found)
        error = huber.DataError(message)
        if path is not None:
            error.input = path
        raise error


def _flat(starts: list, at: tuple, shape: tuple) -> int:
    """The flat C-order index in an array of ``shape`` of element ``at`` of the block that starts
    at ``starts``."""
    return int(np.ravel_multi_index([s + k for s, k in zip(starts, at)], shape))


_ELEMENT = re.compile(r"the loss of element (\d+) is NaN")


def _renumbered(e: Exception, where: Any) -> Exception:
    """`e` with the element it names as ``where`` says (an index, or a description)."""
    found = _ELEMENT.search(str(e))
    if found is None:
        return e
    at = where(int(found[1]))
    text = f"the loss of element {at} is NaN" if isinstance(at, int) else f"the loss of {at} is NaN"
    return type(e)(str(e).replace(found[0], text, 1))


def _elements(pred: np.ndarray, target: np.ndarray, *rest: np.ndarray, opts: dict, weighted: bool,
              block_info: Any = None) -> np.ndarray:
    weight = rest[0] if weighted else None
    try:
        return huber.loss(pred, target, opts["loss"], opts["delta"], beta=opts["beta"], weight=weight, reduction="none", nan=opts["nan"])
    except huber.DataError as e:
        # The element as the whole array numbers it, from the block's place (block_info).
        info = (block_info or {}).get(0)
        if info is None:
            raise
        starts = [a for a, _ in info["array-location"]]
        raise _renumbered(e, lambda i: _flat(starts, np.unravel_index(i, pred.shape), info["shape"])) from None


def _identity(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return x


def _combine(x: Any, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    states = _flatten(x)
    ndim = len(axis) if isinstance(axis, tuple) else 1
    return _boxed(_merge(states), ndim, keepdims)


def _finish(reduced: Any, shape: tuple | None, several: bool, grouped: bool, chunks: tuple) -> Any:
    merged = _flatten(reduced)[0] if _flatten(reduced) else []
    if isinstance(merged, _NaNs):
        merged.raise_first(chunks)
    results = list(merged)
    if shape is not None:
        # The data's shape, as huber.evaluate gives it (a group's too, however many partitions
        # held the group).
        results = [_shaped(r, shape) for r in results]
    if grouped or several:
        return results
    return results[0]


def _shaped(result: Any, shape: tuple) -> Any:
    import json

    record = json.loads(result.to_json())
    record["shape"] = list(shape)
    return huber.Result.from_json(json.dumps(record))


def _finish_frame(part: _Part, several: bool, grouped: bool) -> Any:
    if isinstance(part.state, _NaNs):
        part.state.raise_first_part()
    results = list(part.state)
    if grouped:
        # A partition none of whose rows has a label gives no result, so the merged results'
        # shape misses its rows: the data's shape counts all the rows, as huber.evaluate's does.
        results = [r if r.shape == (part.rows,) else _shaped(r, (part.rows,)) for r in results]
    return results if grouped or several else results[0]


def _arrays(pred: Any, target: Any, weight: Any, by: Any, opts: dict, split_every: Any, several: bool) -> Any:
    import dask
    import dask.array as da

    for name, a in (("target", target), ("weight", weight), ("by", by)):
        if _is_series(a):
            raise ValueError(
                f"pred is a Dask array and {name} a Dask series: pass pred as a column of the same dataframe, "
                f"or {name} as a Dask array of known chunk sizes (series.values, then .compute_chunk_sizes())"
            )
    if isinstance(split_every, numbers.Integral) and not isinstance(split_every, bool) and split_every < 2:
        raise ValueError(f"split_every={split_every!r}: how many states one task merges, 2 or more")
    pred = da.asarray(pred)
    named = [(n, da.asarray(a)) for n, a in (("target", target), ("weight", weight), ("by", by)) if a is not None]
    for name, a in [("pred", pred), *named]:
        if any(np.isnan(n) for n in a.shape):
            raise ValueError(
                f"{name}: a Dask array of unknown chunk sizes (shape {a.shape}, as a dataframe's .values "
                "gives): pass the column itself (a Dask series), or the array after .compute_chunk_sizes()"
            )
        if name != "by" and a.dtype.kind not in "biuf":
            raise TypeError(
                f"{name}: a Dask array of dtype {a.dtype}: huber reads bool, integer and float arrays; "
                "cast it first, e.g. with .astype('float64')"
            )
    others = []
    for name, a in named:
        if name == "by" and a.ndim < pred.ndim and a.shape == pred.shape[: a.ndim]:
            # A label per sample (of pred's leading axes), as huber.evaluate takes it.
            a = da.broadcast_to(a.reshape(a.shape + (1,) * (pred.ndim - a.ndim)), pred.shape)
        if a.shape != pred.shape:
            raise ValueError(f"shapes differ: pred is {pred.shape}, {name} is {a.shape}")
        others.append(a.rechunk(pred.chunks))
    if opts["reduction"] in (None, "none"):
        if by is not None:
            raise ValueError("reduction='none' gives element losses: by= needs a reduction")
        # The dtype of one element's loss of these dtypes (a weight's counts too: float32 data
        # with int32 weights gives float64 losses).
        zeros = [np.zeros(1, a.dtype) for a in (pred, *others)]
        weight0 = zeros[2] if weight is not None else None
        dtype = huber.loss(zeros[0], zeros[1], opts["loss"], opts["delta"], beta=opts["beta"], weight=weight0, reduction="none").dtype
        return da.map_blocks(_elements, pred, *others, dtype=dtype, opts=opts, weighted=weight is not None)
    meta = np.empty((0,) * pred.ndim, dtype=object)
    if opts["nan"] == "raise":
        # Each block told its index (block_id), so that the NaN element is named as the whole
        # array numbers it. Only here: it costs each task about 0.1 ms (measured on 1,000 blocks).
        states = da.map_blocks(
            _block, pred, *others, dtype=object, chunks=tuple((1,) * len(c) for c in pred.chunks),
            meta=meta, opts=opts, weighted=weight is not None,
        )
    else:
        ind = tuple(range(pred.ndim))
        pairs = [x for a in (pred, *others) for x in (a, ind)]
        states = da.blockwise(
            _block, ind, *pairs, dtype=object, adjust_chunks={i: 1 for i in ind}, meta=meta, opts=opts,
            weighted=weight is not None,
        )
    reduced = da.reduction(
        states, chunk=_identity, combine=_combine, aggregate=_combine, axis=None, keepdims=False,
        concatenate=False, split_every=split_every, dtype=object, meta=np.empty((), dtype=object),
    )
    return dask.delayed(_finish)(reduced, pred.shape if not np.isnan(pred.size) else None, several, by is not None, pred.chunks)


def _part(frame: Any, opts: dict, weighted: bool, grouped: bool) -> Any:
    weight = frame["weight"].to_numpy() if weighted else None
    by = huber._label_array(frame["by"]) if grouped else None
    try:
        state = _state(frame["pred"].to_numpy(), frame["target"].to_numpy(), weight, by, opts)
    except huber.DataError as e:
        # A partition's offset in the frame is not known here; its number and its rows' index
        # labels are.
        number = frame.attrs.get("huber-partition")

        def row(i: int) -> str:
            label = frame.index[i]
            label = label.item() if isinstance(label, np.generic) else label
            where = "its partition" if number is None else f"partition {number}"
            return f"the row with index {label!r} (element {i} of {where})"

        error = _renumbered(e, row)
        if number is None or not _ELEMENT.search(str(e)):
            raise error from None
        # Raised by the last step for the first partition's, not for whichever task failed first.
        return _Part(_NaNs([(number, None, str(error))]), len(frame))
    return _Part(state, len(frame))


class _Part:
    """One partition's state (or a merge of several) and the number of rows it covers, as Dask's
    reduction passes it between tasks: not a pandas object, so that Dask neither turns it into a
    one-row frame after each step nor concatenates frames before the next, and it pickles in a
    microsecond."""

    __slots__ = ("state", "rows")

    def __init__(self, state: list, rows: int) -> None:
        self.state = state
        self.rows = rows

    def __reduce__(self) -> tuple:
        return _Part, (self.state, self.rows)


def _part_combine(parts: Any) -> _Part:
    """One part, or the parts Dask concatenated (into a series), merged."""
    parts = [parts] if isinstance(parts, _Part) else list(parts)
    return _Part(_merge([p.state for p in parts]), sum(p.rows for p in parts))


def _part_aggregate(parts: Any, several: bool, grouped: bool) -> Any:
    # The last step gives what huber.evaluate gives, so the reduction is the lazy result itself
    # (no task after it).
    return _finish_frame(_part_combine(parts), several, grouped)


def _parquet_files(columns: list) -> list | None:
    """The local files of the one ``dd.read_parquet`` frame whose numeric columns ``columns``
    are, as read (no filters, partition selection, hive keys, ``_metadata``, storage options,
    categories, dtype backend or other engine; files named as Parquet), or None when they are
    anything else."""
    exprs = [getattr(c, "expr", None) for c in columns]
    if not all(type(e).__name__ == "Projection" and isinstance(e.operand("columns"), str) for e in exprs):
        return None
    frames = [e.operand("frame") for e in exprs]
    read = frames[0]
    if type(read).__name__ != "ReadParquetFSSpec" or any(f._name != read._name for f in frames):
        return None
    names = [e.operand("columns") for e in exprs]
    # Numbers only (what the in-process route takes from pandas), named so a KEY can say it.
    if not all(getattr(c.dtype, "kind", "O") in "fiu" for c in columns) or not all(n and not n.endswith(":") for n in names):
        return None
    try:
        plain = (
            read.operand("filters") is None and read.operand("_partitions") is None
            and not read.operand("storage_options") and read.operand("categories") is None
            and read.operand("engine") in (None, "pyarrow")
            and not any(v is not None for v in (read.operand("kwargs") or {}).values())
        )
        info = read._dataset_info
        local = "file" in getattr(info["fs"], "protocol", ())
        files = list(info["ds"].files)
    except Exception:
        return None
    # A `_metadata` file may list only some row groups of a file rewritten since (then Dask reads
    # those); a file whose name says another format is read by huber as that format.
    if not plain or not local or info.get("partition_names") or info.get("has_metadata_file") or not files:
        return None
    if not all(_parquet_name(f) for f in files):
        return None
    return files


def _parquet_name(path: str) -> bool:
    """Whether huber reads `path` as Parquet whatever its bytes: by its extension, or by its
    magic bytes when it has none."""
    name = path.rsplit("/", 1)[-1].lower()
    return name.endswith((".parquet", ".parq", ".pq")) or "." not in name


def _file_part(path: str, place: int, names: list, opts: dict) -> Any:
    """One file's results, read by huber's own Parquet reader on this worker's thread; `place` is
    the file's in the dataset."""
    pred, target, weight = (None if c is None else f"{path}:{c}" for c in names)
    try:
        out = huber.evaluate(pred, target, weight=weight, threads=1, **opts)
    except huber.DataError as e:
        if not _ELEMENT.search(str(e)):
            raise
        # The element as this file numbers it (its row, for a column), and the file; raised by
        # the last step for the first such file in the dataset, not for whichever task failed
        # first (which varies from run to run).
        message = str(e) if path in str(e) else f"{path}: {e}"
        return _Part(_NaNs([(place, path, message)]), 0)
    out = out if isinstance(out, list) else [out]
    return _Part(out, out[0].shape[0])


def _parquet(files: list, columns: list, opts: dict, split_every: Any, several: bool) -> Any:
    import dask
    import dask.dataframe as dd
    import pandas as pd

    # The states are Python objects: not text for Dask to convert to its string dtype.
    with dask.config.set({"dataframe.convert-string": False}):
        parts = dd.from_map(
            _file_part, files, range(len(files)), names=columns, opts=opts, meta=pd.Series([], dtype=object),
            label="huber-parquet-file", enforce_metadata=False,
        )
    # Optimized here, so that each file's read and its chunk step fuse into one task.
    return parts.reduction(
        chunk=_part_combine, combine=_part_combine, aggregate=_part_aggregate, split_every=split_every, meta=object,
        aggregate_kwargs={"several": several, "grouped": False},
    ).optimize()


def _numeric(columns: dict) -> None:
    """Refuses, before anything runs, a column that huber does not read as numbers."""
    for param, column in columns.items():
        dtype = getattr(column, "dtype", None)
        if column is None or dtype is None:
            continue
        if getattr(dtype, "kind", "O") not in "biuf":
            name = getattr(column, "name", None)
            what = f"column {name!r}" if name is not None else "it"
            raise TypeError(
                f"{param}: {what} holds {dtype}: huber reads bool, integer and float columns; "
                "cast it first, e.g. with .astype('float64')"
            )


def _is_series(x: Any) -> bool:
    return type(x).__name__ == "Series" and hasattr(x, "npartitions")


def _paired(pred: Any, target: Any, weight: Any, by: Any) -> Any:
    """The columns as one frame, row i of each partition of a Dask series with row i of the same
    partition of the others, as huber pairs arrays by position. Not by index, as ``assign`` would:
    that pairs a short column's rows with missing values, or rows by label across shards whose
    indexes repeat. Partitions of different lengths are refused when they are read. Anything else
    (a Dask array, a number) is assigned to that frame, as Dask assigns it."""
    import dask.dataframe as dd
    import pandas as pd

    named = (("pred", pred), ("target", target), ("weight", weight), ("by", by))
    series = {k: v for k, v in named if v is not None and _is_series(v)}
    others = {k: v for k, v in named if v is not None and not _is_series(v)}
    for k, v in others.items():
        if isinstance(v, (np.ndarray, list, tuple)):
            # Which Dask's assign refuses, saying only that it does not take the type.
            raise TypeError(
                f"{k}: a {'numpy array' if isinstance(v, np.ndarray) else type(v).__name__} beside a Dask series: "
                "pass a column of the same Dask dataframe, or a Dask array (da.from_array(x, chunks=...) with the "
                "partitions' lengths)"
            )
    counts = {k: v.npartitions for k, v in series.items()}
    if len(set(counts.values())) > 1:
        cut = ", ".join(f"{k} into {n}" for k, n in counts.items())
        raise ValueError(
            f"the columns are cut into different numbers of partitions ({cut}): huber pairs rows by position, "
            "partition by partition; take the columns from one dataframe, or pass Dask arrays whose "
            "lengths are checked (series.values, then .compute_chunk_sizes())"
        )
    meta = pd.DataFrame({k: v._meta for k, v in series.items()})
    frame = dd.map_partitions(
        _pack, *series.values(), names=list(series), meta=meta, align_dataframes=False, enforce_metadata=False,
    )
    return frame.assign(**others) if others else frame


def _pack(*parts: Any, names: list, partition_info: Any = None) -> Any:
    import pandas as pd

    lengths = [len(p) for p in parts]
    if len(set(lengths)) > 1:
        rows = ", ".join(f"{n} {k}" for n, k in zip(names, lengths))
        raise ValueError(
            f"a partition's columns hold different numbers of rows ({rows}): huber pairs rows by position, "
            "as it pairs arrays; take the columns from one dataframe"
        )
    # pred's index, so that what is assigned after (a Dask array, a number) lines up as before.
    frame = pd.DataFrame({n: p.array for n, p in zip(names, parts)}, index=parts[0].index)
    # The partition's number (Dask gives it here, not to a reduction's steps), which a NaN under
    # nan="raise" is ordered and named by.
    frame.attrs["huber-partition"] = None if partition_info is None else partition_info.get("number")
    return frame


def _frames(pred: Any, target: Any, weight: Any, by: Any, opts: dict, split_every: Any, several: bool) -> Any:
    if opts["reduction"] in (None, "none"):
        raise ValueError("reduction='none' over a dataframe: use map_partitions with huber.huber_loss")
    _numeric({"pred": pred, "target": target, "weight": weight})
    if by is None:
        columns = [pred, target] + ([] if weight is None else [weight])
        files = _parquet_files(columns)
        if files is not None:
            names = [c.expr.operand("columns") for c in columns] + [None] * (3 - len(columns))
            return _parquet(files, names, opts, split_every, several)
    frame = _paired(pred, target, weight, by)
    return frame.reduction(
        chunk=_part, combine=_part_combine, aggregate=_part_aggregate, split_every=split_every,
        chunk_kwargs={"opts": opts, "weighted": weight is not None, "grouped": by is not None},
        aggregate_kwargs={"several": several, "grouped": by is not None},
        meta=object,
    ).optimize()


def loss(
    pred: Any,
    target: Any,
    *,
    loss: str = "huber",
    delta: Any = None,
    beta: Any = None,
    weight: Any = None,
    reduction: Any = "mean",
    nan: str = "propagate",
    by: Any = None,
    split_every: Any = None,
) -> Any:
    """A loss over Dask arrays or dataframe columns: a lazy object whose ``.compute()`` is what
    :func:`huber.evaluate` returns for the concatenated data (a :class:`huber.Result`, a list of
    them for several parameter values or for ``by=``), bit for bit."""
    if isinstance(delta, str) and delta == "auto":
        raise ValueError("delta='auto' needs the residuals' median first: give a number over Dask")
    for name, x in (("pred", pred), ("target", target), ("weight", weight), ("by", by)):
        if isinstance(x, (str, bytes, os.PathLike)):
            raise TypeError(
                f"{name}={x!r}: an INPUT string is read by huber.evaluate in this process; over Dask, pass "
                "a Dask array or a column of a Dask dataframe (e.g. dd.read_parquet(...)['store'])"
            )
        if type(x).__name__ == "DataFrame" and hasattr(x, "npartitions"):
            raise TypeError(f"{name}: a whole Dask dataframe; pass one of its columns, e.g. ddf[column]")
    opts = {"loss": loss, "delta": delta, "beta": beta, "reduction": reduction, "nan": nan}
    # Bad options are refused here, as the in-process call refuses them, not later in a worker.
    empty = np.zeros(0)
    huber.loss(empty, empty, loss, delta, beta=beta, weight=None if weight is None else empty, reduction=reduction, nan=nan)
    if by is not None and reduction not in (None, "none"):
        huber.evaluate(
            empty, empty, loss=loss, delta=delta, beta=beta, weight=None if weight is None else empty,
            reduction=reduction, nan=nan, by=np.zeros(0, dtype=np.int64),
        )
    several = huber._several(delta, beta)
    if _is_frame_part(pred):
        return _frames(pred, target, weight, by, opts, split_every, several)
    return _arrays(pred, target, weight, by, opts, split_every, several)


def _is_frame_part(x: Any) -> bool:
    return hasattr(x, "to_frame") and hasattr(x, "npartitions")


def _named(kind: str, param: str | None):
    import inspect

    def f(pred: Any, target: Any, value: Any = None, **options: Any) -> Any:
        if param is not None and value is not None:
            if param in options:
                raise TypeError(f"{kind}_loss() got {param} twice")
            options[param] = value
        elif param is None and value is not None:
            raise TypeError(f"{kind}_loss() takes no parameter")
        return loss(pred, target, loss=kind, **options)

    # What help() and editors show: loss()'s keywords, with this loss's parameter third.
    keywords = [p for name, p in inspect.signature(loss).parameters.items() if name not in ("pred", "target", "loss", "delta", "beta")]
    positional = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in ("pred", "target")]
    if param is not None:
        positional.append(inspect.Parameter(param, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None))
    f.__signature__ = inspect.Signature(positional + keywords)  # type: ignore[attr-defined]
    f.__name__ = f.__qualname__ = f"{kind}_loss"
    f.__module__ = __name__
    what = f"``{param}`` (third, or by name), " if param else ""
    f.__doc__ = (
        f"The {kind} loss over Dask arrays or dataframe columns: {what}``weight``, ``reduction``, ``nan``, "
        f"``by`` and ``split_every`` as :func:`loss` takes them; a lazy object whose ``.compute()`` is what "
        f":func:`huber.evaluate` with ``loss='{kind}'`` gives for the concatenated data, bit for bit."
    )
    return f


huber_loss = _named("huber", "delta")
smooth_l1_loss = _named("smooth_l1", "beta")
pseudo_huber_loss = _named("pseudo_huber", "delta")
mse_loss = _named("mse", None)
l1_loss = _named("l1", None)
log_cosh_loss = _named("log_cosh", None)
