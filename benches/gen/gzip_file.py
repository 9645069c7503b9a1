"""A gzip copy of a file, as `gzip -6` writes it (the gzip tool, no name or time stamp).

usage: gzip_file.py OUT.gz IN
"""
import subprocess
import sys

from _common import commit

out, src = sys.argv[1], sys.argv[2]
with open(out + ".tmp", "wb") as f:
    subprocess.run(["gzip", "-6", "-n", "-c", src], stdout=f, check=True)
commit(out)
