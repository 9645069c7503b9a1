"""A streaming metric: batches in, one exact result out, whatever the batch sizes."""

from __future__ import annotations

import re
from typing import Any, Iterable

import numpy as np

from . import _huber

# huber/__init__.py imports this module last, when these are defined.
from . import _input, _raise_from_engine  # noqa: E402


class Metric:
    """A loss accumulated batch by batch, shaped like torchmetrics' and Keras' metrics:
    ``update(pred, target, weight=None)`` adds a batch, ``compute()`` gives the value,
    ``reset()`` forgets, ``merge_state(other)`` adds another metric's batches (another process,
    another device).

    The state is the exact sum of the element losses and the counts, so the value after any
    sequence of batches is the bits of one call over their concatenation: batch sizes, the order
    of batches and of merges change nothing. Metrics pickle and copy, and ``to_json()`` writes the
    command line's JSON (``huber merge`` reads it).

    >>> import numpy as np, huber
    >>> m = huber.Metric("huber", delta=1.0)
    >>> x = np.linspace(-3, 3, 7, dtype=np.float32)
    >>> m.update(x[:2], np.zeros(2, np.float32))
    >>> m.update(x[2:], np.zeros(5, np.float32))
    >>> m.compute() == huber.huber_loss(x, np.zeros(7, np.float32))
    np.True_
    """

    def __init__(
        self,
        loss: str = "huber",
        delta: Any = None,
        *,
        beta: Any = None,
        reduction: Any = "mean",
        nan: str = "propagate",
        threads: int = 0,
    ) -> None:
        from . import _as_argument, _kind, _params, _reduction, _several, _threads

        self.loss = _kind(loss)
        self._params = _params(self.loss, delta, beta)
        if self._params is None:
            raise ValueError("delta='auto' needs all the data at once: give a number to a Metric")
        self._several = _several(delta, beta)
        # As the argument spells it (weighted_mean), as a Result says it.
        self.reduction = _as_argument(_reduction(reduction))
        if self.reduction == "none":
            raise ValueError("a Metric reduces: reduction='mean', 'sum' or 'weighted_mean'")
        self.nan = nan
        # Whether the nan policy was chosen, not taken from a JSON text, which does not say it.
        self._nan_chosen = True
        self.threads = _threads(threads)
        # The exact results of the batches, merged in Rust.
        try:
            self._acc = self._accumulator()
        except (ValueError, TypeError) as e:
            _raise_from_engine(e)

    def _accumulator(self) -> Any:
        from . import _reduction

        return _huber.Accumulator(self.loss, self._params, _reduction(self.reduction), self.nan, self.threads)

    def update(self, pred: Any, target: Any, weight: Any = None) -> None:
        """Adds a batch."""
        try:
            named = (("pred", pred), ("target", target), ("weight", weight))
            inputs = [None if x is None else _input(x, name, detach=True) for name, x in named]
            self._acc.update(*inputs)
        except (ValueError, TypeError) as e:
            # The element is counted in this batch, which the message says.
            message = re.sub(r"^the loss of element (\d+) is NaN", r"the loss of element \1 of this batch is NaN", str(e))
            _raise_from_engine(type(e)(message))

    def _records(self) -> list | None:
        """The merged results, or None before any update."""
        try:
            return self._acc.results()
        except ValueError as e:
            _raise_from_engine(e)

    def merge_state(self, other: "Metric | Iterable[Metric]") -> None:
        """Adds the batches of another metric (or of each metric of an iterable) of the same loss
        and nan policy (a metric read by :meth:`from_json` without ``nan=`` takes any)."""
        if isinstance(other, Metric):
            others = [other]
        elif isinstance(other, (str, bytes)) or not hasattr(other, "__iter__"):
            raise TypeError(f"merge_state takes a Metric or an iterable of Metrics, not {type(other).__name__}")
        else:
            others = list(other)
        for o in others:
            if not isinstance(o, Metric):
                raise TypeError(f"merge_state takes Metrics, not {type(o).__name__}")
            if (o.loss, o._params, o.reduction) != (self.loss, self._params, self.reduction):
                raise ValueError("merge_state: the metrics compute different losses or reductions")
            chosen = getattr(o, "_nan_chosen", True) and getattr(self, "_nan_chosen", True)
            if chosen and o.nan != self.nan:
                raise ValueError(f"merge_state: nan={o.nan!r} where this metric's is nan={self.nan!r}; their counts mean different things")
            records = o._records()
            if records is not None:
                self._acc.add(records)

    def result(self) -> Any:
        """The :class:`huber.Result` (a list for several parameter values), or None before any
        update."""
        from . import Result

        records = self._records()
        if records is None:
            return None
        results = [Result(r) for r in records]
        return results if self._several else results[0]

    def compute(self) -> Any:
        """The value: a numpy scalar of the result dtype (an array for several parameter values);
        before any update, a float64 NaN as a mean of nothing is, or 0 as a sum of nothing is."""
        records = self._records()
        if records is None:
            empty = np.float64(0.0 if self.reduction == "sum" else "nan")
            return np.full(len(self._params), empty) if self._several else empty
        from . import Result

        values = [Result(r).value for r in records]
        return np.array(values, dtype=values[0].dtype) if self._several else values[0]

    def reset(self) -> None:
        """Forgets every batch."""
        self._acc.reset()

    @property
    def state(self) -> dict | None:
        """The exact state: the result's JSON as a dict (None before any update)."""
        import json

        text = self.to_json()
        return None if text == "null" else json.loads(text)

    def to_json(self) -> str:
        """The accumulated result as ``huber -f json`` writes it ("null" before any update)."""
        records = self._records()
        if records is None:
            return "null"
        texts = [r.to_json() for r in records]
        return texts[0] if len(texts) == 1 and not self._several else "[" + ",".join(texts) + "]"

    @classmethod
    def from_json(cls, text: str, **options: Any) -> "Metric":
        """A metric holding the result(s) of a JSON text (``to_json``, ``huber -f json``). An
        empty metric's text (``null``) holds nothing to say its loss: that gives
        ``Metric(**options)``."""
        if text.strip() == "null":
            return cls(**options)
        records = _huber.parse(text, "JSON text")
        if not records:
            raise ValueError("from_json: the text holds no result")
        first = records[0]
        param = [r.param[1] for r in records] if first.param else None
        several = len(records) > 1
        delta = param if several else (param[0] if param else None)
        key = "beta" if first.param and first.param[0] == "beta" else "delta"
        m = cls(first.loss, **{key: delta}, reduction=first.reduction, **options)
        m._nan_chosen = "nan" in options
        m._acc.add(records)
        return m

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k != "_acc"}
        records = self._records()
        state["records"] = None if records is None else [r.to_json() for r in records]
        return state

    def __setstate__(self, state: dict) -> None:
        texts = state.pop("records", None)
        if "_records" in state:  # pickled by 0.1.0's metric, which held its results in Python
            old = state.pop("_records")
            state.pop("_pending", None)
            texts = old
        self.__dict__.update(state)
        from . import _as_argument

        # A metric pickled before it spelt its reduction as the argument does (weighted-mean).
        self.reduction = _as_argument(self.reduction)
        self._acc = self._accumulator()
        if texts is not None:
            self._acc.add([_huber.parse(t, "pickled metric")[0] for t in texts])

    def __repr__(self) -> str:
        return f"Metric({self.loss}, {self.reduction}: {self._acc.count()} elements)"
