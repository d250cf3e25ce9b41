"""The credentials admin, in the test project (the cases are tests/django/credentials_project/admin_cases.py).

They run in a process of their own: the admin needs ``django.contrib.auth`` and the rest of a
real project, which this session's settings leave out on purpose (DRF tests assume no auth app).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.django.credentials_db import PYTHON, ROOT, project_env

CASES = "tests/django/credentials_project/admin_cases.py"


def test_the_admin_cases_pass_in_the_test_project(tmp_path: Path) -> None:
    run = subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header", "-x", CASES],
        cwd=ROOT,
        env=project_env(f"sqlite:{tmp_path / 'admin.sqlite3'}"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert " passed" in run.stdout
    assert "skipped" not in run.stdout
