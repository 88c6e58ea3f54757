"""Shared fixtures: a real ``voxrelay serve`` per test (see voxrelay.testing.LocalServer).

``relay_server`` has ``.host`` ("127.0.0.1:PORT"), ``.ws_url``, ``.http_url``, ``.project``,
``.token``, ``.other_projects`` ({"other-project": "PTother"}), ``.numbers`` (number -> context:
+15550100001 office, +15550100002 sales, +15550100003 support), ``originate(context, from,
to) -> call_id``, ``call_state(call_id)`` and ``hang_up(call_id)``.

In CI (``CI`` set to anything but ``""``, ``0`` or ``false``; ``.ci/run`` sets ``CI=true``)
a skipped test fails instead: a skip there means a tool the tests need (sipp, baresip,
libspandsp2, espeak-ng, the Asterisk prompts, schemathesis...) is missing from the machine,
and a green run must have run everything. ``@pytest.mark.ci_may_skip`` exempts a test whose
skip is about the machine rather than a tool (no IPv6 loopback).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator

import pytest

from voxrelay.testing import LocalServer


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ci_may_skip: its skip is about the machine, not a missing tool: allowed in CI"
    )


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    report.outcome = "failed"
    report.longrepr = (
        f"skipped in CI: {_skip_reason(report)}\n"
        "CI runs every test: install what is missing (scripts/setup), or mark a skip that is "
        "about the machine, not a tool, with @pytest.mark.ci_may_skip"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if (
        in_ci()
        and report.skipped
        and not hasattr(report, "wasxfail")
        and item.get_closest_marker("ci_may_skip") is None
    ):
        _fail_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, None]:
    outcome = yield
    report: pytest.CollectReport = outcome.get_result()  # type: ignore[attr-defined]
    if in_ci() and report.skipped:  # a module-level importorskip or skip
        _fail_skip(report)


@pytest.fixture
def relay_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(extra_args=["--resume-grace", "5"])


@pytest.fixture
def tls_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(tls=True)
