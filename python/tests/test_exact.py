"""Reductions are the exact sum rounded once: checked against fractions.Fraction, and independent
of how the data is split, batched and merged."""

import pickle
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import huber


def round_to(x: Fraction, dtype) -> float:
    """The value of `dtype` nearest to x (ties to even), overflowing to ±inf as IEEE does."""
    info = np.finfo(dtype)
    if x == 0:
        return 0.0
    sign = -1 if x < 0 else 1
    x = abs(x)
    mant = info.nmant + 1
    e = x.numerator.bit_length() - x.denominator.bit_length()
    if Fraction(2) ** e > x:
        e -= 1
    e = max(e, info.minexp)  # subnormals share the smallest exponent
    ulp = Fraction(2) ** (e - mant + 1)
    q, r = divmod(x, ulp)
    q = int(q)
    if r > ulp / 2 or (r == ulp / 2 and q % 2 == 1):
        q += 1
    value = q * ulp
    if value >= Fraction(2) ** (info.maxexp):
        return sign * float("inf")
    return sign * float(value)


finite64 = st.floats(allow_nan=False, allow_infinity=False, width=64)
finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite64, max_size=300))
def test_float64_sums_and_means_are_correctly_rounded(xs):
    p = np.array(xs, dtype=np.float64)
    exact = sum((Fraction(abs(x)) for x in xs), Fraction(0))
    got = huber.l1_loss(p, np.zeros_like(p), reduction="sum")
    assert float(got) == round_to(exact, np.float64)
    if xs:
        assert float(huber.l1_loss(p, np.zeros_like(p))) == round_to(exact / len(xs), np.float64)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite32, max_size=300))
def test_float32_means_are_correctly_rounded(xs):
    p = np.array(xs, dtype=np.float32)
    exact = sum((Fraction(float(abs(x))) for x in p), Fraction(0))
    got = huber.l1_loss(p, np.zeros_like(p), reduction="sum")
    assert got.dtype == np.float32
    assert float(got) == round_to(exact, np.float32)
    if xs:
        assert float(huber.l1_loss(p, np.zeros_like(p))) == round_to(exact / len(xs), np.float32)



@settings(max_examples=100, deadline=None)
@given(
    st.lists(finite32, min_size=1, max_size=400),
    st.lists(st.integers(0, 400), max_size=6),
    st.randoms(use_true_random=False),
)
def test_any_split_and_merge_order_gives_one_state(xs, cuts, rnd):
    p = np.array(xs, dtype=np.float32)
    t = np.zeros_like(p)
    whole = huber.evaluate(p, t, delta=0.5)
    bounds = sorted({0, len(p), *(min(c, len(p)) for c in cuts)})
    parts = [huber.evaluate(p[a:b], t[a:b], delta=0.5) for a, b in zip(bounds, bounds[1:])]
    rnd.shuffle(parts)
    merged = huber.merge(parts)
    assert merged.state == whole.state
    assert merged.value.tobytes() == whole.value.tobytes()
    assert merged.count == whole.count
    # A tree of merges, through pickles and JSON.
    while len(parts) > 1:
        a, b = parts.pop(), parts.pop()
        parts.insert(rnd.randrange(len(parts) + 1), huber.merge([pickle.loads(pickle.dumps(a)), huber.Result.from_json(b.to_json())]))
    assert parts[0].state == whole.state


def test_thread_counts_give_the_same_bits():
    rng = np.random.default_rng(1)
    p = rng.normal(size=3_000_000).astype(np.float32)
    t = rng.normal(size=3_000_000).astype(np.float32)
    results = {huber.evaluate(p, t, threads=n).to_json() for n in (1, 2, 3, 7)}
    assert len(results) == 1
