"""The examples run as a user would run them."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_demo_runs_and_checks_its_results():
    proc = subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), "--small"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for section in ("[1]", "[2]", "[3]", "[4]", "[5]", "[6]", "[7]", "[8]", "[9]", "[10]",
                    "dashboard: http", "demo finished"):
        assert section in out
    assert "identical to a plain sequential Python run" in out
    assert "ValueError: invalid literal" in out
    assert "same top 10 as dask" in out
    assert "files byte-identical: True" in out
    assert "every pack and object verified" in out
    assert "faster than threads" in out
    assert "same top 10 as threads" in out and "at v1 on both" in out
