"""A streaming metric: batches in, one exact result out, whatever the batch sizes."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import _huber


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
        from . import _kind, _params, _reduction, _several

        self.loss = _kind(loss)
        self._params = _params(self.loss, delta, beta)
        if self._params is None:
            raise ValueError("delta='auto' needs all the data at once: give a number to a Metric")
        self._several = _several(delta, beta)
        self.reduction = _reduction(reduction)
        if self.reduction == "none":
            raise ValueError("a Metric reduces: reduction='mean', 'sum' or 'weighted_mean'")
        self.nan = nan
        self.threads = threads
        self._records: list | None = None
        # Batches not merged yet: merged 256 at a time (one merge of many costs less than many
        # merges of two).
        self._pending: list = []

    def update(self, pred: Any, target: Any, weight: Any = None) -> None:
        """Adds a batch."""
        from . import _input, _raise_from_engine

        try:
            _, records, _, _ = _huber.run(
                _input(pred), _input(target), None if weight is None else _input(weight),
                self.loss, self._params, self.reduction, self.nan, False, False, self.threads,
                None, None, None, None, None,
            )
        except (ValueError, TypeError) as e:
            _raise_from_engine(e)
        self._absorb(records)

    def _absorb(self, records: list) -> None:
        self._pending.append(records)
        if len(self._pending) >= 256:
            self._fold()

    def _fold(self) -> None:
        """Merges the pending batches into the state."""
        if not self._pending:
            return
        from . import _raise_from_engine

        shards = [("metric", self._records)] if self._records is not None else []
        shards += [(f"batch {i + 1}", r) for i, r in enumerate(self._pending)]
        self._pending = []
        try:
            self._records = _huber.merge(shards) if len(shards) > 1 else shards[0][1]
        except ValueError as e:
            _raise_from_engine(e)

    def merge_state(self, other: "Metric | Iterable[Metric]") -> None:
        """Adds the batches of another metric (or of each metric of an iterable) of the same loss."""
        others = [other] if isinstance(other, Metric) else list(other)
        for o in others:
            if not isinstance(o, Metric):
                raise TypeError(f"merge_state takes Metrics, not {type(o).__name__}")
            if (o.loss, o._params, o.reduction) != (self.loss, self._params, self.reduction):
                raise ValueError("merge_state: the metrics compute different losses or reductions")
            o._fold()
            if o._records is not None:
                self._absorb(o._records)

    def result(self) -> Any:
        """The :class:`huber.Result` (a list for several parameter values), or None before any
        update."""
        from . import Result

        self._fold()
        if self._records is None:
            return None
        results = [Result(r) for r in self._records]
        return results if self._several else results[0]

    def compute(self) -> Any:
        """The value: a numpy scalar of the result dtype (an array for several parameter values);
        NaN before any update, as a mean of nothing."""
        self._fold()
        if self._records is None:
            nan = np.float64("nan")
            return np.full(len(self._params), nan) if self._several else nan
        from . import Result

        values = [Result(r).value for r in self._records]
        return np.array(values, dtype=values[0].dtype) if self._several else values[0]

    def reset(self) -> None:
        """Forgets every batch."""
        self._records = None
        self._pending = []

    @property
    def state(self) -> dict | None:
        """The exact state: the result's JSON as a dict (None before any update)."""
        import json

        if self._records is None:
            return None
        return json.loads(self.to_json())

    def to_json(self) -> str:
        """The accumulated result as ``huber -f json`` writes it ("null" before any update)."""
        self._fold()
        if self._records is None:
            return "null"
        texts = [r.to_json() for r in self._records]
        return texts[0] if len(texts) == 1 and not self._several else "[" + ",".join(texts) + "]"

    @classmethod
    def from_json(cls, text: str, **options: Any) -> "Metric":
        """A metric holding the result(s) of a JSON text (``to_json``, ``huber -f json``)."""
        records = _huber.parse(text, "JSON text")
        if not records:
            raise ValueError("from_json: the text holds no result")
        first = records[0]
        param = [r.param[1] for r in records] if first.param else None
        several = len(records) > 1
        delta = param if several else (param[0] if param else None)
        key = "beta" if first.param and first.param[0] == "beta" else "delta"
        m = cls(first.loss, **{key: delta}, reduction=first.reduction, **options)
        m._records = records
        return m

    def __getstate__(self) -> dict:
        self._fold()
        state = dict(self.__dict__)
        state["_records"] = None if self._records is None else [r.to_json() for r in self._records]
        return state

    def __setstate__(self, state: dict) -> None:
        texts = state.pop("_records")
        self.__dict__.update(state)
        self._pending = []
        self._records = None if texts is None else [_huber.parse(t, "pickled metric")[0] for t in texts]

    def __repr__(self) -> str:
        self._fold()
        count = 0 if self._records is None else self._records[0].count
        return f"Metric({self.loss}, {self.reduction}: {count} elements)"
