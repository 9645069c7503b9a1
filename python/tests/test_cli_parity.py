"""The package and the command line give the same results, JSON for JSON, over the fixtures."""

import json

import numpy as np
import pytest

import huber
from conftest import ROOT

CONF = "fixtures/conformance/in"
BRK = "fixtures/breakdowns"
INPUTS = ["float16_normal3d", "float32_normal2d", "float64_normal4d", "float32_nonfinite",
          "mixed_i32_u8", "mixed_f16_f64", "float32_sumoverflow", "float64_empty"]
LOSSES = [("huber", "-d", 0.5), ("smooth_l1", "-b", 2.0), ("mse", None, None), ("l1", None, None),
          ("log_cosh", None, None), ("pseudo_huber", "-d", 1.5)]


def cli_name(loss):
    return loss.replace("_", "-")


@pytest.mark.parametrize("name", INPUTS)
@pytest.mark.parametrize("loss,flag,param", LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("nan", ["propagate", "omit"])
def test_scalar_results_are_the_command_lines(cli, name, loss, flag, param, reduction, nan):
    pred, target = f"{CONF}/{name}_pred.npy", f"{CONF}/{name}_target.npy"
    args = ["-p", pred, "-t", target, "-l", cli_name(loss), "-r", reduction, "--nan", nan, "-f", "json"]
    if flag:
        args += [flag, param]
    want = cli(*args).stdout.strip()
    kw = {"beta": param} if flag == "-b" else {"delta": param}
    arrays = huber.evaluate(np.load(ROOT / pred), np.load(ROOT / target), loss=loss, reduction=reduction, nan=nan, **kw)
    files = huber.evaluate(str(ROOT / pred), str(ROOT / target), loss=loss, reduction=reduction, nan=nan, **kw)
    assert files.to_json() == want
    # An array's input is named differently, nothing else.
    assert arrays.to_json() == want


def test_several_deltas_and_weighted_mean(cli):
    p, t, w = (f"{BRK}/{n}.npy" for n in ("pred", "target", "weight"))
    want = json.loads(cli("-p", p, "-t", t, "-w", w, "-d", "0.5,1,2", "-r", "weighted-mean", "-f", "json").stdout)
    got = huber.evaluate(str(ROOT / p), str(ROOT / t), weight=np.load(ROOT / w), delta=[0.5, 1, 2], reduction="weighted_mean")
    assert [r.to_dict() for r in got] == want
    values = huber.huber_loss(np.load(ROOT / p), np.load(ROOT / t), [0.5, 1, 2], weight=np.load(ROOT / w), reduction="mean_with_sample_weight")
    assert values.dtype == np.float32
    assert values.tolist() == [float(np.float32(r["value"])) for r in want]


def test_groups_are_the_command_lines(cli):
    p, t, k = (f"{BRK}/{n}.npy" for n in ("pred", "target", "labels"))
    want = json.loads(cli("-p", p, "-t", t, "--by", k, "-f", "json").stdout)
    got = huber.evaluate(str(ROOT / p), str(ROOT / t), by=str(ROOT / k))
    assert [r.to_dict() | {"by": None} for r in got] == [w | {"by": None} for w in want]
    table = huber.huber_loss(np.load(ROOT / p), np.load(ROOT / t), by=np.load(ROOT / k))
    keys = list(table["key"])
    assert keys == [w["key"] for w in want]
    assert np.asarray(table["value"]).tolist() == [float(np.float32(w["value"])) for w in want]


def test_text_labels_group_as_pandas_does(cli):
    csv = f"{BRK}/sales.csv"
    want = json.loads(cli("-p", f"{csv}:pred", "-t", f"{csv}:target", "--by", f"{csv}:store", "-f", "json").stdout)
    got = huber.evaluate(f"{ROOT / csv}:pred", f"{ROOT / csv}:target", by=f"{ROOT / csv}:store")
    assert [(r.key, r.value, r.count) for r in got] == [(w["key"], w["value"], w["count"]) for w in want]


def test_cells_are_the_command_lines(cli):
    p, t = f"{BRK}/pred.npy", f"{BRK}/target.npy"
    for axis in ("0", "1,2", "-1"):
        want = json.loads(cli("-p", p, "-t", t, "--axis", axis, "-f", "json").stdout)
        cells = huber.evaluate(str(ROOT / p), str(ROOT / t), axis=[int(a) for a in axis.split(",")])
        assert np.asarray(want["values"], dtype=cells.dtype).tobytes() == cells.values.tobytes()
        assert list(cells.shape) == want["shape"]


def test_top_is_the_command_lines(cli):
    p, t = f"{BRK}/pred.npy", f"{BRK}/target.npy"
    want = json.loads(cli("-p", p, "-t", t, "--top", "5", "-f", "json").stdout)
    r = huber.evaluate(str(ROOT / p), str(ROOT / t), top=5)
    worst = want["top"] if "top" in want else want["worst"]
    assert [w["index"] for w in worst] == [list(p) for p in r.worst["position"]]
    assert [w["loss"] for w in worst] == list(r.worst["loss"])
    assert r.value == np.float32(want["value"])


def test_element_losses_and_gradient_are_the_command_lines(cli, tmp_path):
    p, t = f"{CONF}/float32_normal3d_pred.npy", f"{CONF}/float32_normal3d_target.npy"
    cli("-p", p, "-t", t, "-r", "none", "-o", tmp_path / "none.npy")
    cli("-p", p, "-t", t, "--grad", "-o", tmp_path / "grad.npy")
    assert huber.huber_loss(str(ROOT / p), str(ROOT / t), reduction="none").tobytes() == np.load(tmp_path / "none.npy").tobytes()
    assert huber.grad(np.load(ROOT / p), np.load(ROOT / t)).tobytes() == np.load(tmp_path / "grad.npy").tobytes()
