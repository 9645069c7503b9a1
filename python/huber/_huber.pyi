"""Type stubs of the extension module (python/src): what `huber/__init__.py` calls."""

from typing import Any, Optional, Sequence

MAX_THREADS: int

class DataError(ValueError):
    input: Optional[str]
    line: Optional[int]
    column: Optional[int]

class Record:
    @property
    def value(self) -> float: ...
    @property
    def sum(self) -> float: ...
    @property
    def count(self) -> int: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def dtype(self) -> str: ...
    @property
    def linear_fraction(self) -> Optional[float]: ...
    @property
    def loss(self) -> str: ...
    @property
    def param(self) -> Optional[tuple[str, float]]: ...
    @property
    def reduction(self) -> str: ...
    @property
    def weight_sum(self) -> Optional[float]: ...
    @property
    def key(self) -> Any: ...
    @property
    def by(self) -> Optional[str]: ...
    def to_json(self) -> str: ...

def run(
    pred: Any,
    target: Any,
    weight: Any,
    loss: str,
    params: Optional[Sequence[float]],
    reduction: str,
    nan: str,
    grad: bool,
    broadcast: bool,
    threads: int,
    axis: Optional[Sequence[int]],
    by: Any,
    top: Optional[int],
    delimiter: Optional[str],
    header: Optional[bool],
) -> tuple[str, Any, list[tuple[str, Optional[float]]], list[str]]: ...
def reduce(pred: Any, target: Any, loss: str, param: float, reduction: str, nan: str) -> Any: ...
def parse(text: str, name: str) -> list[Record]: ...
def merge(shards: Sequence[tuple[str, Sequence[Record]]]) -> list[Record]: ...
