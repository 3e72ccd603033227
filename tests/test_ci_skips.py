"""Under CI=true a skipped test fails the run (tests/conftest.py, NoSkipsUnderCI); elsewhere it stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = '''
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip("chromium is not installed")
'''


def run(tmp_path, ci: str | None, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                           "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_sample.py"), *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_skip_fails_the_run_under_ci_and_names_the_test(tmp_path):
    result = run(tmp_path, "true")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout + result.stderr
    assert "skipped under CI=true: a failure" in result.stdout
    assert "test_sample.py::test_skips: Skipped: chromium is not installed" in result.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_a_skip_is_only_a_skip_outside_ci(tmp_path, ci):
    result = run(tmp_path, ci)
    assert result.returncode == pytest.ExitCode.OK, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout


def test_a_run_without_skips_passes_under_ci(tmp_path):
    result = run(tmp_path, "true", "-k", "passes")
    assert result.returncode == pytest.ExitCode.OK, result.stdout + result.stderr
