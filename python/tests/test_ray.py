"""The Ray recipe of docs/PYTHON.md, run where Ray is installed (it is not in CI: see the guide)."""

import re

import numpy as np
import pytest

import huber
from conftest import ROOT

ray = pytest.importorskip("ray", reason="Ray is not installed (kept out of CI: 240 MB, slow start)")


def test_the_recipe_gives_one_runs_bits(tmp_path):
    guide = (ROOT / "docs/PYTHON.md").read_text()
    recipe = re.search(r"## Ray\n.*?```python\n(.*?)```", guide, re.S).group(1)
    scope: dict = {}
    exec(recipe, scope)
    import pandas as pd

    rng = np.random.default_rng(9)
    frames = [pd.DataFrame({"pred": rng.normal(size=n), "target": rng.normal(size=n)}) for n in (500, 1, 3000, 77)]
    for i, f in enumerate(frames):
        f.to_parquet(tmp_path / f"part-{i}.parquet")
    whole = pd.concat(frames)
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        ds = ray.data.read_parquet(str(tmp_path))
        got = ds.aggregate(scope["huber_aggregate"](0.5))["huber"]
    finally:
        ray.shutdown()
    assert got == huber.evaluate(whole["pred"].to_numpy(), whole["target"].to_numpy(), delta=0.5)
