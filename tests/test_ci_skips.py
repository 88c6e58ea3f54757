"""In CI a skipped test fails (tests/conftest.py): a green CI run has run every test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = """
import pytest

def test_runs():
    pass

@pytest.mark.skipif(True, reason="sometool is not installed")
def test_skipif():
    pass

def test_skip_inside():
    pytest.skip("othertool is not installed")

@pytest.mark.ci_may_skip
def test_machine():
    pytest.skip("no IPv6 loopback here")

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False
"""
MISSING_MODULE = "import pytest\npytest.importorskip('no_such_module_here')\n"


def run(tmp_path: Path, ci: str, test_file: str) -> str:
    """The summary line of pytest run with our conftest on ``test_file``, CI set to ``ci``."""
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(test_file)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "CI": ci},
        cwd=tmp_path,
        timeout=120,
    )
    return done.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("ci", "summary"),
    [
        ("", "1 passed, 3 skipped, 1 xfailed"),
        ("false", "1 passed, 3 skipped, 1 xfailed"),
        ("true", "1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error"),  # skipif: at setup
    ],
)
def test_skips_fail_in_ci_but_marked_ones_and_xfails(tmp_path: Path, ci: str, summary: str) -> None:
    assert summary in run(tmp_path, ci, SAMPLE)


@pytest.mark.parametrize(("ci", "summary"), [("", "1 skipped"), ("true", "1 error")])
def test_a_module_level_importorskip_fails_in_ci(tmp_path: Path, ci: str, summary: str) -> None:
    assert summary in run(tmp_path, ci, MISSING_MODULE)
