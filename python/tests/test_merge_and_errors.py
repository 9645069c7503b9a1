"""Results round-trip through JSON, pickle and `huber merge`; errors are Python exceptions."""

import json
import pickle
import warnings

import numpy as np
import pytest

import huber
from conftest import ROOT

RNG = np.random.default_rng(5)


def test_python_results_merge_with_the_command_lines(cli, tmp_path):
    p, t = RNG.normal(size=(2, 4000)).astype(np.float32)
    np.save(tmp_path / "p1.npy", p[:1500])
    np.save(tmp_path / "t1.npy", t[:1500])
    cli("-p", tmp_path / "p1.npy", "-t", tmp_path / "t1.npy", "-d", "0.5,1", "-f", "json", "-o", tmp_path / "cli.json")
    ours = huber.evaluate(p[1500:], t[1500:], delta=[0.5, 1.0])
    (tmp_path / "py.json").write_text("[" + ",".join(r.to_json() for r in ours) + "]")
    whole = huber.evaluate(p, t, delta=[0.5, 1.0])
    # The command line merges Python's JSON ...
    by_cli = json.loads(cli("merge", "-f", "json", tmp_path / "cli.json", tmp_path / "py.json").stdout)
    assert [r["state"] for r in by_cli] == [r.state["state"] for r in whole]
    # ... and Python merges the command line's, pickled results among them.
    by_py = huber.merge([(tmp_path / "cli.json").read_text(), pickle.loads(pickle.dumps(ours))])
    assert by_py == whole


def test_grouped_results_merge():
    p, t = RNG.normal(size=(2, 1000))
    keys = RNG.integers(0, 7, size=1000)
    whole = huber.evaluate(p, t, by=keys)
    parts = [huber.evaluate(p[a:a + 250], t[a:a + 250], by=keys[a:a + 250]) for a in range(0, 1000, 250)]
    merged = huber.merge(parts[::-1])
    assert [(r.key, r.state) for r in merged] == [(r.key, r.state) for r in whole]


def test_tampered_json_is_a_data_error():
    r = huber.evaluate(np.ones(3), np.zeros(3))
    bad = r.to_dict()
    bad["count"] = 4
    with pytest.raises(huber.DataError, match="count"):
        huber.Result.from_json(json.dumps(bad))


def test_bad_arguments_are_value_errors_that_name_the_argument():
    x = np.ones(3)
    with pytest.raises(ValueError, match="delta"):
        huber.huber_loss(x, x, delta=-1)
    with pytest.raises(ValueError, match="reduction="):
        huber.huber_loss(x, x, reduction="median")
    with pytest.raises(ValueError, match="weight="):
        huber.huber_loss(x, x, reduction="weighted_mean")
    with pytest.raises(ValueError, match="nan="):
        huber.huber_loss(x, x, nan="skip")
    with pytest.raises(ValueError, match="threads="):
        huber.huber_loss(x, x, threads=10**6)
    with pytest.raises(ValueError, match="loss="):
        huber.loss(x, x, "hinge")


def test_bad_data_names_file_line_and_column(tmp_path):
    csv = tmp_path / "eval.csv"
    csv.write_text("pred,target\n1,2\n3,#DIV/0!\n")
    with pytest.raises(huber.DataError) as e:
        huber.evaluate(f"{csv}:pred", f"{csv}:target")
    assert e.value.line == 3 and e.value.column == 2, str(e.value)
    assert str(csv) in str(e.value)
    assert isinstance(e.value, ValueError)
    with pytest.raises(huber.DataError, match="No such file"):
        huber.evaluate(str(tmp_path / "missing.npy"), np.zeros(2))
    with pytest.raises(huber.DataError, match="shapes differ: pred is"):
        huber.huber_loss(np.zeros(3), np.zeros(2))
    # Keras-shaped predictions (N, 1) against targets (N,): the hint leads to one shape, never to
    # the N² pairs that broadcasting would make.
    with pytest.raises(huber.DataError, match=r"np.squeeze \(a view\) pairs them one to one; broadcast=True would pair every element"):
        huber.huber_loss(np.zeros((5, 1)), np.zeros(5))
    # Asked for, broadcasting (N, 1) against (N,) warns as PyTorch does: N² pairs.
    with pytest.warns(UserWarning, match=r"broadcast=True pairs inputs of shapes \(5, 1\), \(5,\) into \(5, 5\): 25 elements") as seen:
        huber.huber_loss(np.zeros((5, 1)), np.zeros(5), broadcast=True)
    assert seen[0].filename == __file__  # the warning points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        huber.huber_loss(np.zeros((5, 3)), np.zeros(3), broadcast=True)  # grows nothing: silent
    with pytest.raises(huber.DataError, match="use broadcast=True for NumPy broadcasting"):
        huber.huber_loss(np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(huber.DataError, match="NaN"):
        huber.huber_loss(np.array([np.nan]), np.zeros(1), nan="raise")


def test_files_of_every_format(tmp_path):
    want = huber.evaluate(str(ROOT / "fixtures/breakdowns/pred.npy"), str(ROOT / "fixtures/breakdowns/target.npy"))
    assert want.count > 0
    csv = ROOT / "fixtures/breakdowns/sales.csv"
    r = huber.evaluate(f"{csv}:pred", f"{csv}:target", delimiter=",", header=True)
    assert r.count > 0 and r.dtype == np.float64


def test_a_data_error_names_its_input(tmp_path):
    # A folder whose name holds parentheses, as "Copy (2)" does.
    (tmp_path / "run (1)").mkdir()
    (tmp_path / "run (1)" / "d.csv").write_text("pred,target\n1.0,0.5\n,1.0\n")
    (tmp_path / "run (1)" / "x.csv").write_text("pred,target\n1.0,x\n")
    d = str(tmp_path / "run (1)" / "d.csv")
    x = str(tmp_path / "run (1)" / "x.csv")
    with pytest.raises(huber.DataError) as e:
        huber.evaluate(f"{x}:pred", f"{x}:target")
    assert (e.value.input, e.value.line, e.value.column) == (f"{x}:target", 2, 2)
    with pytest.raises(huber.DataError) as e:
        huber.evaluate(f"{d}:pred", f"{d}:target", nan="raise")
    assert (e.value.input, e.value.line, e.value.column) == (f"{d}:pred", 3, 1)
    for pred in [str(tmp_path / "nope.npy"), f"{d}:nope"]:
        with pytest.raises(huber.DataError) as e:
            huber.evaluate(pred, f"{d}:target")
        assert (e.value.input, e.value.line) == (pred, None)


def test_messages_name_delta_and_beta_as_arguments():
    x = np.zeros(2, np.float32)
    for kwargs, text in [({"delta": 0}, "delta must be greater than 0"), ({"delta": 1e-46}, "delta=1e-46 rounds to 0"),
                         ({"loss": "smooth_l1", "beta": -1}, "beta must be 0 or greater"),
                         # A parameter of another loss is refused, as the command line refuses it,
                         # not dropped (huber(δ) is smooth_l1(β = δ) only at 1).
                         ({"beta": 0.5}, "beta=0.5 does not apply to the huber loss: its parameter is delta"),
                         ({"loss": "pseudo_huber", "beta": 2}, "beta=2 does not apply to the pseudo_huber loss"),
                         ({"loss": "smooth_l1", "delta": 0.5, "beta": 0.5}, "smooth_l1 takes one parameter, beta"),
                         ({"loss": "mse", "beta": 0.5}, "mse takes no parameter"),
                         ({"nan": "x"}, "not one of 'propagate', 'omit', 'raise' (or 'error'")]:
        with pytest.raises(ValueError) as e:
            huber.loss(x, x, **kwargs)
        assert text in str(e.value) and "--" not in str(e.value)


def test_arguments_are_numbers_and_integers_as_numpy_takes_them():
    x = np.zeros((3, 2))
    for delta in ([[1, 2]], b"1", True, "1"):
        with pytest.raises(ValueError, match="delta="):
            huber.evaluate(x, x, delta=delta)
    assert len(huber.evaluate(x, x, delta=np.array([0.5, 1]))) == 2
    from decimal import Decimal
    from fractions import Fraction

    assert huber.evaluate(x, x, delta=Decimal("0.5")).delta == huber.evaluate(x, x, delta=Fraction(1, 2)).delta == 0.5
    assert huber.evaluate(x, x, axis=np.array(1)).shape == (3,)
    with pytest.raises(TypeError, match="axis="):
        huber.evaluate(x, x, axis=1.0)
    with pytest.raises(ValueError, match="integer count"):
        huber.evaluate(x, x, top=True)


def test_results_of_one_state_are_equal_nan_too():
    p = np.array([np.nan, 1.0])
    r = huber.evaluate(p, np.zeros(2))
    assert np.isnan(r.value) and r == huber.evaluate(p, np.zeros(2))
    assert r != huber.evaluate(np.array([np.nan, 2.0]), np.zeros(2))


def test_a_metric_says_the_element_is_of_this_batch():
    m = huber.Metric("huber", nan="raise")
    m.update(np.zeros(10), np.zeros(10))
    x = np.zeros(6)
    x[5] = np.nan
    with pytest.raises(huber.DataError, match="element 5 of this batch is NaN"):
        m.update(x, np.zeros(6))


def test_a_data_error_names_json_lines_fields_arguments_and_shards(tmp_path):
    lines = [json.dumps({"pred": 1.0 if i != 5 else None, "target": 0.0}) for i in range(8)]
    (tmp_path / "e.jsonl").write_text("\n".join(lines) + "\n")
    e_jsonl = str(tmp_path / "e.jsonl")
    with pytest.raises(huber.DataError) as e:
        huber.evaluate(e_jsonl + ":pred", e_jsonl + ":target", nan="raise")
    assert (e.value.input, e.value.line, e.value.column, e.value.field) == (e_jsonl + ":pred", 6, None, "pred")
    (tmp_path / "k.csv").write_text("pred,target,k\n1,2,a\n")
    k = str(tmp_path / "k.csv")
    with pytest.raises(huber.DataError, match="^by= ") as e:
        huber.evaluate(k + ":pred", k + ":target", by=k + ":nope")
    assert e.value.input == k + ":nope"
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(2):
        pd.DataFrame({"pred": [1.0, np.nan if i else 2.0], "target": [0.0, 0.0]}).to_parquet(flat / f"part-{i}.parquet")
    with pytest.raises(huber.DataError, match=r"part-1.parquet: row 1 \(from 0\)\)$") as e:
        huber.evaluate(f"{flat}:pred", f"{flat}:target", nan="raise")
    assert (e.value.input, e.value.file) == (f"{flat}:pred", f"{flat}/part-1.parquet")
    # A CSV dataset's shard likewise: the argument's INPUT, and the file with its line.
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "part-0.csv").write_text("pred,target\n1,2\n")
    (shards / "part-1.csv").write_text("pred,target\n1,2\n3,x\n")
    with pytest.raises(huber.DataError) as e:
        huber.evaluate(f"{shards}:pred", f"{shards}:target")
    where = (e.value.input, e.value.file, e.value.line, e.value.column)
    assert where == (f"{shards}:target", f"{shards}/part-1.csv", 3, 2)


def test_a_first_line_of_numbers_read_as_data_is_a_warning(tmp_path):
    (tmp_path / "n.csv").write_text("0,1\n1,2\n3,3\n")
    n = str(tmp_path / "n.csv")
    with pytest.warns(UserWarning, match=r"holds only numbers, so it was read as data; if it is a header, pass header=True"):
        r = huber.evaluate(n + ":1", n + ":2")
    assert r.count == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        huber.evaluate(n + ":1", n + ":2", header=False)


def test_results_pickle_with_their_worst_table_and_compare_whatever_their_labels_input(tmp_path):
    x = np.array([0.0, 3.0, 1.0, -4.0])
    r = huber.evaluate(x, np.zeros(4), top=2)
    for back in (pickle.loads(pickle.dumps(r)), __import__("copy").deepcopy(r)):
        assert back == r and list(back.worst["index"]) == list(r.worst["index"]) == [3, 1]
    # The same groups from labels in a file and in an array: equal, as their states are.
    (tmp_path / "g.csv").write_text("pred,target,store\n0,1,a\n3,0,b\n1,1,a\n")
    g = str(tmp_path / "g.csv")
    from_file = huber.evaluate(g + ":pred", g + ":target", by=g + ":store")
    from_array = huber.evaluate(np.array([0.0, 3, 1]), np.array([1.0, 0, 1]), by=np.array(["a", "b", "a"]))
    assert from_file == from_array
    # The loss and reduction as the arguments spell them.
    s = huber.evaluate(x, np.zeros(4), loss="smooth_l1", weight=np.ones(4), reduction="weighted_mean")
    assert (s.loss, s.reduction) == ("smooth_l1", "weighted_mean")
    c = huber.evaluate(np.ones((2, 2)), np.zeros((2, 2)), loss="smooth_l1", axis=0, weight=np.ones((2, 2)),
                       reduction="weighted_mean")
    assert (c.loss, c.reduction) == ("smooth_l1", "weighted_mean")
    assert huber.Result.from_json(s.to_json()) == s and '"loss":"smooth-l1"' in s.to_json()


def test_categorical_labels_are_their_categories_values():
    pd = pytest.importorskip("pandas")
    lab = pd.Series([1, 2, 1, 1, None, 2], dtype="Int64").astype("category")
    p, t = np.arange(6.0), np.zeros(6)
    whole = huber.evaluate(p, t, by=lab, reduction="sum")
    assert [(r.key, r.count) for r in whole] == [(1, 3), (2, 2)]
    assert pd.DataFrame({"lab": lab}).groupby("lab", observed=True).size().to_dict() == {1: 3, 2: 2}
    # A part without a missing label has the same integer keys, so the parts merge.
    parts = [huber.evaluate(p[a:b], t[a:b], by=lab[a:b], reduction="sum") for a, b in ((0, 3), (3, 6))]
    assert huber.merge(parts) == whole
    text = huber.evaluate(np.ones(4), np.zeros(4), by=pd.Series(["b", "a", None, "b"]).astype("category"))
    assert [(r.key, r.count) for r in text] == [("a", 1), ("b", 2)]


def test_merge_names_what_it_cannot_merge():
    cells = huber.evaluate(np.ones((2, 3)), np.zeros((2, 3)), axis=1)
    with pytest.raises(TypeError, match=r"item 1 is an axis= result \(Cells\)"):
        huber.merge([cells])
    with pytest.raises(TypeError, match=r"item 2 \(int\) is not a Result"):
        huber.merge([huber.evaluate(np.ones(2), np.zeros(2)), 3])


def test_the_worst_rows_of_a_dataset_name_their_file():
    shards = f"{ROOT}/fixtures/datasets/dask_csv"
    r = huber.evaluate(f"{shards}:pred", f"{shards}:target", top=3)
    files, lines = list(r.worst["file"]), list(r.worst["line"])
    assert files == [f"{shards}/2.part"] * 3
    for file, line, pred in zip(files, lines, r.worst["pred"]):
        with open(file) as f:
            assert float(f.read().splitlines()[line - 1].split(",")[2]) == pred
