"""docs/observability.md holds the metric and span reference the code makes, exactly."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.metrics_reference import reference

PAGE = Path(__file__).resolve().parent.parent / "docs" / "observability.md"


def test_the_reference_is_the_one_the_code_makes() -> None:
    found = re.search(r"<!-- reference -->\n(.*?)\n<!-- /reference -->", PAGE.read_text(encoding="utf-8"), re.S)
    assert found is not None, "docs/observability.md has no <!-- reference --> block"
    assert found.group(1) == reference(), "run: python -m tests.support.metrics_reference, and paste it into the page"
