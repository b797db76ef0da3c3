"""loyalty.malloc: glibc's thresholds are set where glibc is the allocator, and nothing breaks
elsewhere."""

from __future__ import annotations

import platform
import subprocess
import sys


def test_the_thresholds_are_set_under_glibc_and_left_alone_elsewhere():
    # a fresh process: the setting is once per process
    code = (
        "import numpy as np\n"
        "from loyalty.malloc import keep_freed_memory\n"
        "print(keep_freed_memory(), keep_freed_memory())\n"
        "a = [np.ones(3_000_000) for _ in range(20)]\n"  # 24 MB arrays: under the threshold
        "print(sum(float(x.sum()) for x in a))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert out == [str(glibc), str(glibc), "60000000.0"]
