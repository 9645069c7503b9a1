"""The README's Python example runs and prints what the README says it prints."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT


def test_the_readme_scripts_print_what_the_readme_shows():
    readme = (ROOT / "README.md").read_text()
    examples = re.findall(r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```", readme, re.S)
    assert len(examples) == 2, "README.md: ```python blocks, each followed by 'prints' and a ```text block"
    for script, printed in examples:
        assert len(script.strip().splitlines()) <= 5
        if "dask" in script:
            pytest.importorskip("distributed")
            script = "if __name__ == '__main__':\n" + "".join("    " + line + "\n" for line in script.splitlines())
        got = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
        assert got.stdout == printed
