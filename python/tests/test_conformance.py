"""The committed PyTorch references: element losses bit for bit, reductions correctly rounded."""

import numpy as np

import huber
from conftest import ROOT


def _load(path):
    return np.load(ROOT / path)


def _param(case):
    value = case.get("delta", case.get("beta"))
    return None if value is None else float(value)


def test_every_case_of_the_conformance_suite(conformance):
    checked = 0
    for case in conformance:
        pred, target = _load(case["pred"]), _load(case["target"])
        kind = case["loss"].replace("-", "_")
        got = huber.loss(pred, target, kind, _param(case), reduction=case["reduction"])
        if case["reduction"] == "none":
            want = _load(case["expected"])
            assert got.dtype == want.dtype, case["name"]
            assert got.shape == want.shape, case["name"]
            assert got.tobytes() == want.tobytes(), case["name"]
        else:
            want = np.dtype(case["dtype"]).type(float.fromhex(case["exact_result"]) if "0x" in case["exact_result"] else float(case["exact_result"]))
            assert got.dtype == want.dtype, case["name"]
            assert got.tobytes() == want.tobytes() or (np.isnan(got) and np.isnan(want)), case["name"]
        checked += 1
    assert checked == len(conformance) > 2000


def test_paths_and_arrays_give_the_same_bits(conformance):
    for case in conformance[::37]:
        kind = case["loss"].replace("-", "_")
        from_arrays = huber.loss(_load(case["pred"]), _load(case["target"]), kind, _param(case), reduction=case["reduction"])
        from_files = huber.loss(str(ROOT / case["pred"]), str(ROOT / case["target"]), kind, _param(case), reduction=case["reduction"])
        assert np.asarray(from_arrays).tobytes() == np.asarray(from_files).tobytes(), case["name"]
