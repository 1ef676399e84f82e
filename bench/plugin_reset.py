"""The pytest plugin's per-test reset: the median time per test of plugin tests against plain ones.

One pytest run (in a subprocess, in a scratch folder) holds, interleaved:
- 100 empty plain tests: `def test(): pass`;
- 100 empty plugin tests: `def test(imis_mock): pass` (each gets a fresh database);
- 100 plugin tests that write: each adds a member through the admin API, so the next test's
  reset has something to undo (an empty test leaves nothing: the reset then only checks that).
A test's time is from the start of its setup to the end of its teardown (pytest's own reporting
included), so the plain test is what pytest itself costs. The session's one-off set-up (migrating
the template, starting the server) falls in the first plugin test and does not move a median.
Target: an empty plugin test's median at most 5 times a plain test's.

    .venv/bin/python bench/plugin_reset.py [N]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 5.0

TESTS = """
import pytest

N = {n}

@pytest.mark.parametrize("i", range(N))
def test_plain(i):
    pass

@pytest.mark.parametrize("i", range(N))
def test_plugin_empty(imis_mock, i):
    pass

@pytest.mark.parametrize("i", range(N))
def test_plugin_writes(imis_mock, i):
    imis_mock.create_member()
"""

TIMER = """
import json, os, time
import pytest

times = {}

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.perf_counter()
    yield
    times[item.nodeid] = time.perf_counter() - start

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_TIMES"], "w") as out:
        json.dump(times, out)
"""


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory(prefix="imis-plugin-bench-") as scratch:
        folder = Path(scratch)
        (folder / "test_bench.py").write_text(textwrap.dedent(TESTS.format(n=n)))
        (folder / "conftest.py").write_text(TIMER)
        times_file = folder / "times.json"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_TIMES": str(times_file)}
        # -p names the plugin for a checkout; an installed imis-mock registers it by itself.
        plugin = [] if _installed() else ["-p", "imis_mock.pytest_plugin"]
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin]
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stdout[:3000], result.stderr[:3000], file=sys.stderr)
            return 1
        times = json.loads(times_file.read_text())
    medians = {
        kind: statistics.median(t for name, t in times.items() if f"::test_{kind}[" in name)
        for kind in ("plain", "plugin_empty", "plugin_writes")
    }
    plain = medians["plain"]
    print(f"{n} tests of each kind, median time per test (setup + call + teardown + report):")
    for kind, median in medians.items():
        print(f"  {kind:<14} {median * 1000:8.3f} ms   x{median / plain:6.1f} plain")
    ratio = medians["plugin_empty"] / plain
    verdict = "meets" if ratio <= TARGET else "misses"
    print(
        f"Empty plugin test / plain test: {ratio:.1f} ({verdict} the target of {TARGET:g} or less)"
    )
    return 0


def _installed() -> bool:
    from importlib.metadata import entry_points

    return any(e.value == "imis_mock.pytest_plugin" for e in entry_points(group="pytest11"))


if __name__ == "__main__":
    sys.exit(main())
