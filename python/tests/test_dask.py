"""huber.dask on a LocalCluster of 2 worker processes: the bits of one in-process run for every
partitioning and reduction tree."""

import json
import random

import numpy as np
import pytest

import huber

dask = pytest.importorskip("dask", reason="the Dask tests need dask[distributed] (in .ci/test's venv)")
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import huber.dask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


def random_chunks(rng, n, parts):
    cuts = sorted(rng.sample(range(1, n), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, n]
    return tuple(b - a for a, b in zip(bounds, bounds[1:]))


def test_one_hundred_partitionings_and_trees_give_one_state(client):
    rng = random.Random(11)
    data = np.random.default_rng(2)
    p = data.normal(size=20_000).astype(np.float32)
    t = data.normal(size=20_000).astype(np.float32)
    p[::501] = np.nan
    w = np.abs(data.normal(size=20_000)).astype(np.float32)
    want = huber.evaluate(p, t, weight=w, delta=0.5, reduction="weighted_mean", nan="omit")
    states = set()
    for _ in range(100):
        chunks = random_chunks(rng, len(p), rng.randint(1, 20))
        got = huber.dask.huber_loss(
            da.from_array(p, chunks=(chunks,)), da.from_array(t, chunks=(random_chunks(rng, len(p), 3),)),
            0.5, weight=da.from_array(w, chunks=(chunks,)), reduction="weighted_mean", nan="omit",
            split_every=rng.randint(2, 9),
        ).compute()
        assert got == want
        states.add(json.dumps(got.state))
    assert len(states) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_dimensional_blocks_several_deltas_and_groups(client, dtype):
    data = np.random.default_rng(3)
    p = data.normal(size=(300, 40)).astype(dtype)
    t = data.normal(size=(300, 40)).astype(dtype)
    keys = data.integers(0, 9, size=(300, 40))
    for chunks in [(17, 7), (300, 40), (100, 3)]:
        got = huber.dask.loss(da.from_array(p, chunks=chunks), da.from_array(t, chunks=(50, 40)), delta=[0.5, 1.0, 2.0], split_every=3).compute()
        assert got == huber.evaluate(p, t, delta=[0.5, 1.0, 2.0])
        assert got[0].shape == (300, 40)
        groups = huber.dask.loss(da.from_array(p, chunks=chunks), da.from_array(t, chunks=chunks), by=da.from_array(keys, chunks=chunks)).compute()
        assert groups == huber.evaluate(p, t, by=keys)
        assert groups[0].shape == (300, 40)


def test_missing_labels_are_left_out_as_in_process(client):
    p = np.array([0.5, 2.0, -3.0, 1.0, 4.0, -0.25])
    t = np.zeros(6)
    labels = np.array([1.0, np.nan, 1.0, 2.0, np.nan, 2.0])
    want = huber.evaluate(p, t, by=labels)
    assert [r.key for r in want] == ["1.0", "2.0"] and sum(r.count for r in want) == 4
    got = huber.dask.huber_loss(da.from_array(p, chunks=2), da.from_array(t, chunks=3), by=da.from_array(labels, chunks=4)).compute()
    assert got == want
    frame = pd.DataFrame({"p": p, "t": t, "store": ["a", None, "a", "b", pd.NA, "b"]})
    ddf = dd.from_pandas(frame, npartitions=3)
    want = huber.evaluate(frame.p, frame.t, by=frame.store)
    assert [r.key for r in want] == ["a", "b"]
    assert huber.dask.huber_loss(ddf.p, ddf.t, by=ddf.store).compute() == want
    # Nullable integers keep integer keys, with a missing value in one partition or not.
    frame = pd.DataFrame({"p": p, "t": t, "k": pd.Series([1, 2, 1, None, 2, 1], dtype="Int64")})
    ddf = dd.from_pandas(frame, npartitions=3)
    want = huber.evaluate(frame.p, frame.t, by=frame.k)
    assert [r.key for r in want] == [1, 2]
    assert huber.dask.huber_loss(ddf.p, ddf.t, by=ddf.k).compute() == want
    spans = np.array([1, 2, 1, 2, 1, 2], dtype="timedelta64[s]")
    assert [r.key for r in huber.evaluate(p, t, by=spans)] == ["1 seconds", "2 seconds"]
    with pytest.raises(TypeError, match="several types"):
        huber.evaluate(p, t, by=np.array(["a", 1, "a", 2, "b", 3], dtype=object))


def test_partitions_without_a_labelled_row_add_nothing(client):
    """A partition whose rows all lack a label, or that holds no rows, has an empty state, which
    travels between the worker processes and merges as nothing."""
    data = np.random.default_rng(5)
    frame = pd.DataFrame({"p": data.normal(size=64), "t": data.normal(size=64), "i": np.arange(64),
                          "store": [None if 16 <= i < 32 else "ab"[i % 2] for i in range(64)]})
    ddf = dd.from_pandas(frame, npartitions=8)
    kept = ddf[(ddf.i < 40) | (ddf.i >= 48)]  # the sixth partition left empty
    want = huber.evaluate(frame.p, frame.t, by=frame.store)
    rows = frame[(frame.i < 40) | (frame.i >= 48)]
    for split_every in (2, 3, 8):
        assert huber.dask.huber_loss(ddf.p, ddf.t, by=ddf.store, split_every=split_every).compute() == want
        got = huber.dask.huber_loss(kept.p, kept.t, by=kept.store, split_every=split_every).compute()
        assert got == huber.evaluate(rows.p, rows.t, by=rows.store)
    assert sum(r.count for r in want) == 48


def test_categorical_and_hive_integer_labels_are_integers_as_in_process(client, tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"pred": np.arange(6.0), "target": np.zeros(6),
                          "lab": pd.Series([1, 2, 1, 1, None, 2], dtype="Int64").astype("category")})
    ddf = dd.from_pandas(frame, npartitions=2)  # [1, 2, 1] and [1, NA, 2]
    want = huber.evaluate(frame.pred, frame.target, by=frame.lab)
    assert [r.key for r in want] == [1, 2]
    assert huber.dask.mse_loss(ddf.pred, ddf.target, by=ddf.lab).compute() == huber.evaluate(
        frame.pred, frame.target, loss="mse", by=frame.lab)
    # A hive folder of integer keys: Dask reads them as a categorical of integers, huber as
    # integers; the same groups, in numeric order.
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(5)
    table = pa.table({"pred": rng.normal(size=60), "target": rng.normal(size=60), "pi": rng.integers(-5, 12, size=60)})
    pq.write_to_dataset(table, str(tmp_path / "hive"), partition_cols=["pi"])
    hive = str(tmp_path / "hive")
    on_files = huber.evaluate(f"{hive}:pred", f"{hive}:target", by=f"{hive}:pi")
    keys = [r.key for r in on_files]
    assert keys == sorted(keys) and all(isinstance(k, int) for k in keys) and -5 in keys
    hi = dd.read_parquet(hive)
    assert huber.dask.huber_loss(hi["pred"], hi["target"], by=hi["pi"]).compute() == on_files
    # Labels of two types in the partitions: the hint is about the labels.
    ints = huber.evaluate(np.ones(2), np.zeros(2), by=np.array([1, 2]))
    text = huber.evaluate(np.ones(2), np.zeros(2), by=np.array(["a", "b"]))
    with pytest.raises(huber.DataError, match=r"labels of one type; cast by= first"):
        huber.dask._merge([ints, text])


def test_a_nan_under_raise_is_named_as_the_whole_data_numbers_it(client, tmp_path):
    p = np.ones((10, 10))
    p[7, 3] = np.nan
    for chunks in ((4, 3), (10, 1), 7):
        for reduction in ("mean", "none"):
            with pytest.raises(huber.DataError, match=r"^the loss of element 73 is NaN$"):
                huber.dask.huber_loss(da.from_array(p, chunks=chunks), da.zeros((10, 10), chunks=5), nan="raise",
                                      reduction=reduction).compute()
    # Several NaNs in several blocks: the first in C order, whatever block holds it.
    q = p.copy()
    q[9, 0] = q[2, 9] = np.nan
    for chunks in ((4, 3), (3, 7), 1):
        with pytest.raises(huber.DataError, match=r"^the loss of element 29 is NaN$"):
            huber.dask.huber_loss(da.from_array(q, chunks=chunks), da.zeros((10, 10), chunks=5), nan="raise",
                                  split_every=2).compute()
    frame = pd.DataFrame({"p": p.ravel(), "t": np.zeros(100)}, index=np.arange(100) + 1000)
    with pytest.raises(huber.DataError, match=r"^the loss of the row with index 1073 \(element 6 of partition 2\) is NaN$"):
        huber.dask.huber_loss(dd.from_pandas(frame, npartitions=3).p, dd.from_pandas(frame, npartitions=3).t, nan="raise").compute()
    # NaNs in several partitions: the first partition's, whichever task fails first, also with
    # something assigned beside the columns.
    two = frame.copy()
    two.iloc[20, 0] = np.nan
    shards = dd.from_pandas(two, npartitions=7)
    for weight in (None, 2.0, shards.t.to_dask_array(lengths=True) + 1, None, None):
        with pytest.raises(huber.DataError, match=r"^the loss of the row with index 1020 \(element 5 of partition 1\) is NaN$"):
            huber.dask.huber_loss(shards.p, shards.t, weight=weight, nan="raise", split_every=2).compute()
    pytest.importorskip("pyarrow")
    frame.iloc[:40].to_parquet(tmp_path / "a.parquet")
    frame.iloc[40:].to_parquet(tmp_path / "b.parquet")
    shards = dd.read_parquet(str(tmp_path / "*.parquet"))
    with pytest.raises(huber.DataError, match=r"b.parquet: the loss of element 33 is NaN$") as e:
        huber.dask.huber_loss(shards.p, shards.t, nan="raise").compute()
    assert e.value.input == str(tmp_path / "b.parquet")
    # NaNs in both files: the first file's, whichever task fails first.
    frame.iloc[[12]] = np.nan
    frame.iloc[:40].to_parquet(tmp_path / "a.parquet")
    shards = dd.read_parquet(str(tmp_path / "*.parquet"))
    for split_every in (2, 3, None, 2, 3):
        with pytest.raises(huber.DataError, match=r"a.parquet: the loss of element 12 is NaN$") as e:
            huber.dask.huber_loss(shards.p, shards.t, nan="raise", split_every=split_every).compute()
        assert e.value.input == str(tmp_path / "a.parquet")


def test_bad_options_are_refused_when_the_loss_is_built(client):
    p, t = da.ones(4, chunks=2), da.zeros(4, chunks=2)
    for options, message in [({"reduction": "avg"}, "reduction='avg'"), ({"delta": -1}, "delta must be greater than 0"),
                             ({"nan": "x"}, "nan='x'")]:
        with pytest.raises(ValueError, match=message):
            huber.dask.huber_loss(p, t, **options)
    assert huber.dask.huber_loss(p, t, weight=p, reduction="weighted_mean").compute().value == 0.5
    # What the in-process call refuses at once, the lazy one refuses when built, in the same words.
    labels = da.from_array(np.array(list("aabb")), chunks=2)
    for options, message in [
        ({"weight": p, "reduction": "weighted_mean", "by": labels}, "by= gives one mean or sum per group"),
        ({"delta": "abc"}, "delta='abc': a number, a sequence of numbers, or 'auto'"),
        ({"beta": 0.5}, "beta=0.5 does not apply to the huber loss: its parameter is delta"),
        ({"split_every": 1}, "split_every=1: how many states one task merges, 2 or more"),
    ]:
        with pytest.raises(ValueError, match=message):
            huber.dask.huber_loss(p, t, **options)
        if "split_every" not in options:
            with pytest.raises(ValueError, match=message):
                huber.evaluate(np.ones(4), np.zeros(4), **{k: v.compute() if hasattr(v, "compute") else v for k, v in options.items()})
    # An INPUT string names a file in this process, not labels: refused, not one group named after it.
    for name in ("by", "weight"):
        with pytest.raises(TypeError, match=f"{name}='e.csv:store': an INPUT string is read by huber.evaluate"):
            huber.dask.huber_loss(p, t, **{name: "e.csv:store"})
    # A text array is named before anything runs, as a text column is.
    with pytest.raises(TypeError, match=r"target: a Dask array of dtype <U1"):
        huber.dask.huber_loss(p, da.from_array(np.array(list("1234")), chunks=2))
    import inspect

    assert list(inspect.signature(huber.dask.huber_loss).parameters)[:4] == ["pred", "target", "delta", "weight"]
    assert "delta" not in inspect.signature(huber.dask.mse_loss).parameters
    assert huber.dask.smooth_l1_loss.__qualname__ == "smooth_l1_loss"


def test_a_label_per_sample_and_unknown_chunk_sizes(client):
    data = np.random.default_rng(8)
    p, t = data.normal(size=(2, 20, 3))
    labels = data.integers(0, 3, 20)
    got = huber.dask.huber_loss(da.from_array(p, chunks=(7, 2)), da.from_array(t, chunks=5), by=da.from_array(labels, chunks=6)).compute()
    assert got == huber.evaluate(p, t, by=labels)
    with pytest.raises(ValueError, match="shapes differ: pred is \\(20, 3\\), by is"):
        huber.dask.huber_loss(da.from_array(p), da.from_array(t), by=da.from_array(labels[:3])).compute()
    ddf = dd.from_pandas(pd.DataFrame({"p": p[:, 0], "t": t[:, 0]}), npartitions=3)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        huber.dask.huber_loss(ddf.p.values, ddf.t.values)


def test_dataframes_from_parquet_shards(client, tmp_path):
    data = np.random.default_rng(4)
    frames = []
    for i in range(8):
        n = int(data.integers(0, 3000))
        frame = pd.DataFrame({
            "pred": data.normal(size=n).astype(np.float32),
            "target": data.normal(size=n).astype(np.float32),
            "store": data.choice(["north", "south", "east", None], size=n),
        })
        frame.to_parquet(tmp_path / f"part-{i}.parquet")
        frames.append(frame)
    whole = pd.concat(frames)
    ddf = dd.read_parquet(str(tmp_path / "*.parquet"))
    got = huber.dask.huber_loss(ddf["pred"], ddf["target"], 0.5, split_every=2).compute()
    assert got == huber.evaluate(whole["pred"].to_numpy(), whole["target"].to_numpy(), delta=0.5)
    groups = huber.dask.mse_loss(ddf["pred"], ddf["target"], by=ddf["store"]).compute()
    known = whole[whole["store"].notna()]
    # Rows without a store are in no group, in-process as here; the groups are those of the
    # rows with one.
    assert groups == huber.evaluate(whole["pred"], whole["target"], loss="mse", by=whole["store"])
    want = huber.evaluate(known["pred"].to_numpy(), known["target"].to_numpy(), loss="mse", by=known["store"].to_numpy(dtype=object))
    assert [(g.key, g.state) for g in groups] == [(g.key, g.state) for g in want]
    assert [g.key for g in groups] == sorted(known["store"].unique())
    pandas_means = known.assign(l=(known.pred - known.target) ** 2).groupby("store")["l"].mean()
    assert np.allclose([g.value for g in groups], pandas_means.to_numpy(), rtol=1e-6)


def test_parquet_files_read_by_huber_itself_give_the_bits_of_pandas_route(client, tmp_path):
    """Columns of a plain dd.read_parquet frame are read in the workers by huber's own reader,
    a task per file: the same results as Dask's partitions through pandas, with weights, NaN
    (nulls), several deltas and empty files; any other frame takes Dask's partitions."""
    data = np.random.default_rng(9)
    frames = []
    for i in range(6):
        n = 0 if i == 2 else int(data.integers(1, 4000))
        pred = data.normal(size=n)
        pred[data.random(n) < 0.01] = np.nan
        frame = pd.DataFrame({"pred": pred, "target": data.normal(size=n), "w": data.random(n), "k": data.integers(0, 3, n)})
        frame.loc[frame.index[::97], "pred"] = None
        frame.to_parquet(tmp_path / f"part-{i}.parquet")
        frames.append(frame)
    whole = pd.concat(frames)
    ddf = dd.read_parquet(str(tmp_path / "*.parquet"))
    cols = [ddf["pred"], ddf["target"], ddf["w"]]
    assert huber.dask._parquet_files(cols) == [str(tmp_path / f"part-{i}.parquet") for i in range(6)]
    for opts in [dict(delta=[0.5, 2.0]), dict(nan="omit", weight=ddf["w"], reduction="weighted_mean"), dict(reduction="sum")]:
        want = huber.evaluate(whole["pred"].to_numpy(), whole["target"].to_numpy(), **{
            k: (whole["w"].to_numpy() if k == "weight" else v) for k, v in opts.items()})
        pushed = huber.dask.huber_loss(ddf["pred"], ddf["target"], split_every=2, **opts).compute()
        through_pandas = huber.dask.huber_loss(ddf["pred"] + 0, ddf["target"], split_every=3, **opts).compute()
        # NaN is not equal to itself: states compared as the JSON they write.
        def bits(results):
            return json.dumps([r.state for r in (results if isinstance(results, list) else [results])])

        assert bits(pushed) == bits(want)
        assert bits(through_pandas) == bits(want)
    # Anything but a plain read's columns is read through Dask's partitions.
    assert huber.dask._parquet_files([ddf["pred"] + 0, ddf["target"]]) is None
    assert huber.dask._parquet_files([ddf[ddf.k > 0]["pred"], ddf[ddf.k > 0]["target"]]) is None
    filtered = dd.read_parquet(str(tmp_path / "*.parquet"), filters=[("k", ">", 0)])
    assert huber.dask._parquet_files([filtered["pred"], filtered["target"]]) is None
    other = dd.read_parquet(str(tmp_path / "part-1.parquet"))
    assert huber.dask._parquet_files([ddf["pred"], other["target"]]) is None
    # Nor are columns that are not numbers, names a KEY cannot say, files named as another format
    # (Dask reads any file it is given as Parquet), or datasets with a _metadata file.
    odd = pd.DataFrame({"pred": [0.5, 1.0], "target": [0.0, 2.0], "": [1.0, 2.0], "b": [True, False]})
    odd.to_parquet(tmp_path / "odd.csv")
    named = dd.read_parquet([str(tmp_path / "odd.csv")])
    assert huber.dask._parquet_files([named["pred"], named["target"]]) is None
    assert huber.dask.huber_loss(named["pred"], named["target"]).compute() == huber.evaluate(odd["pred"].to_numpy(), odd["target"].to_numpy())
    odd.to_parquet(tmp_path / "odd.parquet")
    plain = dd.read_parquet(str(tmp_path / "odd.parquet"))
    assert huber.dask._parquet_files([plain["pred"], plain["target"]]) == [str(tmp_path / "odd.parquet")]
    assert huber.dask._parquet_files([plain["pred"], plain[""]]) is None
    assert huber.dask._parquet_files([plain["pred"], plain["b"]]) is None
    kept = whole[whole.k > 0]
    got = huber.dask.huber_loss(filtered["pred"], filtered["target"], nan="omit").compute()
    assert got == huber.evaluate(kept["pred"].to_numpy(), kept["target"].to_numpy(), nan="omit")


def test_shards_of_two_dtypes_are_refused_with_the_cast_that_helps(client, tmp_path):
    pd.DataFrame({"pred": np.ones(5, np.float32), "target": np.zeros(5, np.float32)}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"pred": np.full(5, 2.0), "target": np.zeros(5)}).to_parquet(tmp_path / "b.parquet")
    ddf = dd.read_parquet(str(tmp_path / "*.parquet"))
    for pred in (ddf["pred"], ddf["pred"] + 0):
        with pytest.raises(huber.DataError, match=r"float64 where .* float32.*astype"):
            huber.dask.huber_loss(pred, ddf["target"]).compute()
    cast = ddf.astype({"pred": "float64", "target": "float64"})
    got = huber.dask.huber_loss(cast["pred"], cast["target"]).compute()
    assert got == huber.evaluate(np.r_[np.ones(5), np.full(5, 2.0)], np.zeros(10))


def test_columns_pair_by_position_and_lengths_are_checked(client):
    p = np.random.default_rng(8).normal(size=13)
    t = np.random.default_rng(9).normal(size=13)
    # Columns of two frames cut alike pair row by row, as the arrays do (index labels play no part).
    fp = dd.from_pandas(pd.Series(p, index=np.arange(13)[::-1], name="p"), npartitions=1, sort=False)
    ft = dd.from_pandas(pd.Series(t, name="t"), npartitions=1)
    assert huber.dask.huber_loss(fp, ft).compute() == huber.evaluate(p, t)
    # A shorter target was paired with missing values (count 10 of 13, or NaN): now refused.
    short = dd.from_pandas(pd.Series(t[:10], name="t"), npartitions=1)
    with pytest.raises(ValueError, match=r"different numbers of rows \(pred 13, target 10\)"):
        huber.dask.huber_loss(fp, short).compute()
    with pytest.raises(ValueError, match=r"different numbers of partitions \(pred into 1, target into 2\)"):
        huber.dask.huber_loss(fp, dd.from_pandas(pd.Series(t, name="t"), npartitions=2))
    # A Dask array or a number beside a series is assigned as Dask assigns it (by chunk, broadcast).
    frame = dd.from_pandas(pd.DataFrame({"p": p, "t": t, "w": np.linspace(0.5, 2, 13)}), npartitions=3)
    want = huber.evaluate(p, t, weight=np.linspace(0.5, 2, 13))
    assert huber.dask.huber_loss(frame["p"], frame["t"].to_dask_array(lengths=True), weight=frame["w"]).compute() == want
    assert huber.dask.huber_loss(frame["p"], frame["t"], weight=frame["w"].to_dask_array(lengths=True)).compute() == want
    assert huber.dask.huber_loss(frame["p"], frame["t"], weight=2.0).compute() == huber.evaluate(p, t, weight=np.full(13, 2.0))
    # A text column is named before anything runs.
    frame = dd.from_pandas(pd.DataFrame({"pred": p, "label": ["x"] * 13}), npartitions=2)
    with pytest.raises(TypeError, match=r"target: column 'label' holds"):
        huber.dask.huber_loss(frame["pred"], frame["label"])
    # A whole frame, or a series beside an array pred, is told what to pass instead.
    with pytest.raises(TypeError, match=r"pred: a whole Dask dataframe; pass one of its columns, e.g. ddf\[column\]"):
        huber.dask.huber_loss(frame, frame)
    with pytest.raises(ValueError, match="pred is a Dask array and target a Dask series"):
        huber.dask.huber_loss(da.from_array(p, chunks=7), frame["pred"])
    for other, what in ((t, "numpy array"), (list(t), "list")):
        with pytest.raises(TypeError, match=f"target: a {what} beside a Dask series: pass a column"):
            huber.dask.huber_loss(frame["pred"], other)


def test_columns_of_one_filtered_dataset_and_of_a_random_upstream_pair_row_by_row(client, tmp_path):
    """The columns' graph is optimized as one: Dask fuses a dataset's files by the columns read,
    so a filter's column and another would be cut differently one by one, and an upstream step
    computed once per column could differ (here a shuffle of each partition's rows)."""
    pytest.importorskip("pyarrow")
    data = np.random.default_rng(12)
    frames = [pd.DataFrame({c: data.normal(size=50) for c in ("pred", "target", "a", "b", "c", "d")}) for _ in range(12)]
    for i, f in enumerate(frames):
        f.to_parquet(tmp_path / f"part-{i:02}.parquet")
    whole = pd.concat(frames, ignore_index=True)
    ddf = dd.read_parquet(str(tmp_path / "*.parquet"))
    kept = ddf[ddf.pred > 0]
    rows = whole[whole.pred > 0]
    assert huber.dask.huber_loss(kept["pred"], kept["target"]).compute() == huber.evaluate(rows.pred.to_numpy(), rows.target.to_numpy())
    shuffled = dd.from_pandas(whole, npartitions=4).map_partitions(lambda part: part.sample(frac=1))
    assert huber.dask.huber_loss(shuffled.pred, shuffled.target).compute() == huber.evaluate(whole.pred.to_numpy(), whole.target.to_numpy())
    # split_every as Dask takes it: a numpy integer too.
    x = da.from_array(whole.pred.to_numpy(), chunks=60)
    assert huber.dask.huber_loss(x, x * 0, split_every=np.int64(4)).compute() == huber.evaluate(whole.pred.to_numpy(), np.zeros(600))


def test_columns_of_two_parquet_datasets_that_dask_cuts_differently(client, tmp_path):
    """Dask fuses small Parquet files into fewer partitions when it optimizes a graph, the files of
    one dataset (whose other columns are left unread) and not those of another, and then fails
    ("lost dependencies"); the arrays the guide points to instead give the one-run bits."""
    pytest.importorskip("pyarrow")
    for i in range(4):
        (tmp_path / "preds").mkdir(exist_ok=True)
        (tmp_path / "targets").mkdir(exist_ok=True)
        pd.DataFrame({"pred": np.arange(10.0) + i, **{f"feature{j}": np.zeros(10) for j in range(10)}}).to_parquet(tmp_path / f"preds/part-{i}.parquet")
        pd.DataFrame({"target": np.full(10, 2.0)}).to_parquet(tmp_path / f"targets/part-{i}.parquet")
    preds, targets = dd.read_parquet(tmp_path / "preds"), dd.read_parquet(tmp_path / "targets")
    want = huber.evaluate(np.concatenate([np.arange(10.0) + i for i in range(4)]), np.full(40, 2.0))
    p, t = preds["pred"].values, targets["target"].values
    p.compute_chunk_sizes()
    t.compute_chunk_sizes()
    assert huber.dask.huber_loss(p, t).compute() == want


def test_unaligned_and_strided_partitions(client):
    raw = np.zeros(8 * 5001, dtype=np.uint8)
    p = raw[3:3 + 8 * 5000].view(np.float64)
    p[:] = np.random.default_rng(5).normal(size=5000)
    t = np.random.default_rng(6).normal(size=(5000, 2))[:, 1]  # strided
    got = huber.dask.l1_loss(da.from_array(p, chunks=333), da.from_array(t, chunks=333)).compute()
    assert got == huber.evaluate(p.copy(), t.copy(), loss="l1")


def test_element_losses_are_a_dask_array(client):
    p = np.random.default_rng(7).normal(size=(64, 9)).astype(np.float32)
    lazy = huber.dask.huber_loss(da.from_array(p, chunks=(10, 4)), da.zeros((64, 9), dtype=np.float32, chunks=(64, 9)), reduction="none")
    assert lazy.dtype == np.float32
    assert lazy.compute().tobytes() == huber.huber_loss(p, np.zeros_like(p), reduction="none").tobytes()
    # Integer weights make float32 losses float64, and the lazy array says so before it runs.
    w = da.ones((64, 9), dtype=np.int32, chunks=(10, 4))
    weighted = huber.dask.huber_loss(da.from_array(p, chunks=(10, 4)), da.zeros((64, 9), dtype=np.float32, chunks=10), weight=w, reduction="none")
    assert weighted.dtype == weighted.compute().dtype == np.float64


def test_shard_results_merge_on_the_command_line_in_any_order(cli, tmp_path):
    data = np.random.default_rng(8)
    p = data.normal(size=10_000)
    t = data.normal(size=10_000)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "t.npy", t)
    want = json.loads(cli("-p", tmp_path / "p.npy", "-t", tmp_path / "t.npy", "-d", "0.5", "-f", "json").stdout)
    bounds = [0, 1234, 1235, 4000, 9999, 10_000]
    names = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
        (tmp_path / f"s{i}.json").write_text(huber.evaluate(p[a:b], t[a:b], delta=0.5).to_json())
        names.append(tmp_path / f"s{i}.json")
    rng = random.Random(1)
    for _ in range(5):
        rng.shuffle(names)
        merged = json.loads(cli("merge", "-f", "json", *names).stdout)
        assert merged == want
