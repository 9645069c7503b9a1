"""The README's Python example runs and prints what the README says it prints."""

import re
import subprocess
import sys

from conftest import ROOT


def test_the_readme_script_prints_what_the_readme_shows():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```", readme, re.S)
    assert match, "README.md: a ```python block followed by 'prints' and a ```text block"
    script, printed = match.groups()
    assert len(script.strip().splitlines()) <= 5
    got = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert got.stdout == printed
