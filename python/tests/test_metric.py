"""The streaming metric: batch-split invariant, mergeable, picklable, and read by `huber merge`."""

import copy
import json
import pickle

import numpy as np
import pytest

import huber

RNG = np.random.default_rng(3)


def batches(p, t, cuts):
    bounds = [0, *sorted(cuts), len(p)]
    return [(p[a:b], t[a:b]) for a, b in zip(bounds, bounds[1:])]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("loss,param", [("huber", 0.5), ("smooth_l1", 2.0), ("mse", None), ("log_cosh", None)])
def test_any_batching_gives_the_bits_of_one_call(dtype, loss, param):
    p = RNG.normal(size=5000).astype(dtype)
    t = RNG.normal(size=5000).astype(dtype)
    named = {"beta" if loss == "smooth_l1" else "delta": param}
    whole = huber.evaluate(p, t, loss=loss, **named)
    for trial in range(5):
        cuts = RNG.integers(0, len(p), size=trial * 7)
        m = huber.Metric(loss, **named)
        for bp, bt in batches(p, t, cuts):
            m.update(bp, bt)
        assert m.compute().tobytes() == whole.value.tobytes()
        assert m.result().state == whole.state


def test_weighted_metric_and_nan_policy():
    p, t, w = RNG.normal(size=(3, 1000))
    p[::97] = np.nan
    w = np.abs(w)
    whole = huber.evaluate(p, t, weight=w, reduction="weighted_mean", nan="omit")
    m = huber.Metric(reduction="mean_with_sample_weight", nan="omit")
    for a in range(0, 1000, 123):
        m.update(p[a:a + 123], t[a:a + 123], w[a:a + 123])
    assert m.result() == whole
    assert m.compute() == whole.value


def test_merge_state_reset_copy_and_pickle():
    p, t = RNG.normal(size=(2, 900)).astype(np.float32)
    whole = huber.huber_loss(p, t, delta=[0.5, 1.0])
    parts = [huber.Metric(delta=[0.5, 1.0]) for _ in range(3)]
    for i, m in enumerate(parts):
        m.update(p[i * 300:(i + 1) * 300], t[i * 300:(i + 1) * 300])
    total = pickle.loads(pickle.dumps(parts[2]))
    total.merge_state([copy.deepcopy(parts[0]), copy.copy(parts[1])])
    assert total.compute().tobytes() == whole.tobytes()
    restored = huber.Metric.from_json(total.to_json())
    assert restored.compute().tobytes() == whole.tobytes()
    total.reset()
    assert np.isnan(total.compute()).all()
    total.update(p, t)
    assert total.compute().tobytes() == whole.tobytes()
    with pytest.raises(ValueError, match="different"):
        total.merge_state(huber.Metric("mse"))


def test_metric_json_is_read_by_huber_merge(cli, tmp_path):
    p, t = RNG.normal(size=(2, 1000))
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "t.npy", t)
    m = huber.Metric(delta=0.5)
    m.update(p[:400], t[:400])
    (tmp_path / "a.json").write_text(m.to_json())
    cli("-p", tmp_path / "p.npy", "-t", tmp_path / "t.npy", "-d", "0.5", "-f", "json", "-o", tmp_path / "whole.json")
    b = huber.Metric(delta=0.5)
    b.update(p[400:], t[400:])
    (tmp_path / "b.json").write_text(b.to_json())
    merged = cli("merge", "-f", "json", tmp_path / "a.json", tmp_path / "b.json").stdout
    whole = json.loads((tmp_path / "whole.json").read_text())
    assert json.loads(merged)["state"] == whole["state"]
    assert json.loads(merged)["value"] == whole["value"]


def test_an_empty_metric():
    m = huber.Metric()
    assert m.result() is None and np.isnan(m.compute()) and m.to_json() == "null"
    with pytest.raises(ValueError, match="auto"):
        huber.Metric(delta="auto")
    # A sum of nothing is 0, as huber_loss of empty arrays and torchmetrics' SumMetric say.
    assert huber.Metric(reduction="sum").compute() == 0.0
    assert huber.huber_loss(np.zeros(0), np.zeros(0), reduction="sum") == 0.0
    assert list(huber.Metric(delta=[1, 2], reduction="sum").compute()) == [0.0, 0.0]
    # Its JSON reads back as an empty metric of the options given.
    back = huber.Metric.from_json(huber.Metric("mse").to_json(), loss="mse")
    assert back.result() is None and back.loss == "mse"


def test_bad_metric_arguments_are_value_errors_that_name_them():
    with pytest.raises(ValueError, match="^delta must be greater than 0"):
        huber.Metric(delta=-1)
    for threads in (-5, 5000, 1.5):
        with pytest.raises(ValueError, match="threads="):
            huber.Metric(threads=threads)
    with pytest.raises(TypeError, match="a Metric or an iterable of Metrics, not int"):
        huber.Metric().merge_state(3)
    omit = huber.Metric(nan="omit")
    omit.update(np.array([np.nan, 1.0]), np.zeros(2))
    m = huber.Metric()
    with pytest.raises(ValueError, match="nan='omit' where this metric's is nan='propagate'"):
        m.merge_state(omit)


class _GradTensor:
    """What huber sees of a torch tensor that requires grad: numpy refuses it until detached."""

    requires_grad = True

    def __init__(self, values):
        self.values = np.asarray(values)

    def detach(self):
        return self.values

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


def test_an_array_that_requires_grad_without_torch():
    p, t = np.linspace(-2, 2, 9), np.zeros(9)
    m = huber.Metric()
    m.update(_GradTensor(p), t)
    assert m.compute() == huber.huber_loss(p, t)
    with pytest.raises(TypeError, match=r"^pred: .* pass pred.detach\(\)"):
        huber.huber_loss(_GradTensor(p), t)
    with pytest.raises(TypeError, match=r"^target: .* pass target.detach\(\)"):
        huber.evaluate(p, _GradTensor(t))
    # The gradient is what huber.grad is for: it takes such a tensor.
    assert huber.grad(_GradTensor(p), t).tobytes() == huber.grad(p, t).tobytes()


def test_threads_take_numpy_integers_and_refuse_the_rest():
    m = huber.Metric(threads=np.int64(2))
    assert m.threads == 2 and type(m.threads) is int
    assert huber.huber_loss(np.ones(3), np.zeros(3), threads=np.int32(1)) == 0.5
    for bad in (True, None, 2.5, -1, 5000):
        with pytest.raises(ValueError, match="threads="):
            huber.evaluate(np.ones(3), np.zeros(3), threads=bad)
        with pytest.raises(ValueError, match="threads="):
            huber.Metric(threads=bad)


def test_a_metric_read_from_json_merges_whatever_its_nan_policy():
    m = huber.Metric(nan="omit", reduction="weighted_mean")
    m.update(np.array([0.0, 1.0, np.nan, 3.0]), np.zeros(4), np.ones(4))
    assert m.reduction == "weighted_mean"
    back = huber.Metric.from_json(m.to_json())  # the JSON does not say nan="omit"
    m.merge_state(back)
    assert m.result().count == 6
    with pytest.raises(ValueError, match="nan="):
        m.merge_state(huber.Metric.from_json(m.to_json(), nan="propagate"))


def test_a_tensor_that_requires_grad():
    torch = pytest.importorskip("torch")
    p = torch.linspace(-2, 2, 9, requires_grad=True)
    t = torch.zeros(9)
    m = huber.Metric()
    m.update(p, t)  # detached, as torchmetrics does
    assert m.compute() == huber.huber_loss(p.detach().numpy(), t.numpy())
    with pytest.raises(TypeError, match=r"pass pred.detach\(\)"):
        huber.huber_loss(p, t)


def test_a_batch_that_cannot_merge_is_refused_and_the_state_kept():
    m = huber.Metric(delta=1.0)
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    m.update(x, np.zeros(7, np.float32))
    want = m.compute()
    assert want.dtype == np.float32
    with pytest.raises(ValueError, match="a metric keeps one dtype"):
        m.update(x.astype(np.float64), np.zeros(7))
    assert m.compute() == want and m.compute() == want
    w = huber.Metric(delta=1.0, reduction="weighted_mean")
    w.update(x, np.zeros(7, np.float32), np.ones(7, np.float32))
    other = huber.Metric(delta=1.0)
    other.update(x.astype(np.float64), np.zeros(7))
    with pytest.raises(ValueError, match="a metric keeps one dtype"):
        m.merge_state(other)
    assert m.compute() == want


def test_other_threads_read_a_metric_while_it_updates():
    import threading

    m = huber.Metric(delta=1.0)
    big = np.random.default_rng(3).normal(size=4_000_000).astype(np.float32)
    zeros = np.zeros_like(big)
    seen, errors = [], []

    def read():
        for _ in range(200):
            try:
                seen.append(repr(m))
                m.compute()
            except Exception as e:  # noqa: BLE001 - any error is the failure
                errors.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(5):
        m.update(big, zeros)
    reader.join()
    assert errors == []
    assert m.compute() == huber.huber_loss(np.tile(big, 5), np.tile(zeros, 5))
