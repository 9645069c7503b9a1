"""The README's Python example runs and prints what the README says it prints."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT


def test_the_readme_scripts_print_what_the_readme_shows(tmp_path):
    readme = (ROOT / "README.md").read_text()
    examples = re.findall(r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```", readme, re.S)
    assert len(examples) == 2, "README.md: ```python blocks, each followed by 'prints' and a ```text block"
    for script, printed in examples:
        assert len(script.strip().splitlines()) <= 6
        if "dask" in script:
            pytest.importorskip("distributed")
            # Saved as a file and run, a script that starts worker processes needs the guard.
            assert 'if __name__ == "__main__":' in script
        # Run as a user runs it: saved as a file (where Dask's workers import it again).
        path = tmp_path / "example.py"
        path.write_text(script)
        got = subprocess.run([sys.executable, str(path)], cwd=ROOT, capture_output=True, text=True, check=True)
        assert got.stdout == printed
