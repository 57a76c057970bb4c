"""Accessibility checks in the browser tests: axe-core (installed from npm by `make axe-deps` into the
git-ignored .cache/node) run on a Playwright page against WCAG 2.2 level AA.

axe is injected as a same-origin script (a URL the test answers with `page.route`), so the page's own
CSP (`script-src 'self'`) admits it and the page is checked as users get it — no `bypass_csp`, which
an inline `add_script_tag(content=...)` would need. Without the file the check skips with the
reason — a failure in CI (tests/ci_skips.py).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO

AXE_VERSION = "4.11.0"  # as pinned in the Makefile (axe-deps)
AXE_JS = REPO / ".cache" / "node" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_AXE_URL = "/__axe__/axe.min.js"  # never served by the app: answered by the test's route


def axe_source() -> str:
    package = AXE_JS.parent / "package.json"
    if not AXE_JS.is_file() or not package.is_file():
        pytest.skip(f"axe-core is not installed at {AXE_JS} (run `make axe-deps`: npm install axe-core@{AXE_VERSION})")
    version = json.loads(package.read_text())["version"]
    if version != AXE_VERSION:
        pytest.skip(f"axe-core {version} is installed, the tests pin {AXE_VERSION} (run `make axe-deps`)")
    return AXE_JS.read_text(encoding="utf-8")


def _readable(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:8]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}")
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    """Run axe on the page as it is now; fail listing every WCAG 2.2 AA violation readably."""
    source = axe_source()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.route(f"**{_AXE_URL}", lambda route: route.fulfill(body=source, content_type="text/javascript"))
        page.add_script_tag(url=_AXE_URL)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG_22_AA
    )
    violations = result["violations"]
    assert not violations, f"axe-core {AXE_VERSION}, WCAG 2.2 AA, {where}:\n{_readable(violations)}"
