"""The accessibility audit of a page open in the browser: axe-core (the npm package pinned in
frontend/package.json, which `make install` installs) run in the page, its findings of impact
"serious" or "critical" returned in a form a failing test can print."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
#: The impacts a page must have none of.
BLOCKING = ("serious", "critical")

RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})
  .then(results => done({violations: results.violations}))
  .catch(error => done({error: String(error)}));
"""


@cache
def _axe_source() -> str:
    assert AXE.is_file(), f"{AXE} is missing: `make install` installs it (npm ci in frontend/)"
    return AXE.read_text(encoding="utf-8")


def findings(driver: Any) -> list[dict[str, Any]]:
    """Every serious or critical finding of axe-core on the page the browser shows, one entry
    per element: rule id, impact, target (CSS selector) and help."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(_axe_source())
    driver.set_script_timeout(60)
    answer = driver.execute_async_script(RUN)
    assert "error" not in answer, answer["error"]
    return [
        {
            "rule": v["id"],
            "impact": node.get("impact") or v["impact"],
            "target": " ".join(str(t) for t in node["target"]),
            "help": v["help"],
        }
        for v in answer["violations"]
        for node in v["nodes"]
        if (node.get("impact") or v["impact"]) in BLOCKING
    ]


def sideways(driver: Any) -> list[dict[str, Any]]:
    """The page scrolling sideways as a whole (WCAG 1.4.10, reflow: at a phone's 320 to 400
    pixels nothing but a wide table, in its own box, may), as a finding like axe's."""
    wide = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if wide <= 0:
        return []
    return [
        {
            "rule": "reflow",
            "impact": "serious",
            "target": "html",
            "help": f"The page is {wide}px wider than the window: it must reflow",
        }
    ]


def report(found: dict[str, list[dict[str, Any]]]) -> str:
    """The findings by page, and their count by rule."""
    lines = []
    for where, items in found.items():
        for f in items:
            lines.append(f"{where}: {f['rule']} ({f['impact']}) at {f['target']}: {f['help']}")
    counts = Counter(f["rule"] for items in found.values() for f in items)
    lines.append("by rule: " + ", ".join(f"{rule} {n}" for rule, n in counts.most_common()))
    return "\n".join(lines)


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_with_white(colour: str) -> float:
    """WCAG's contrast ratio of a CSS rgb()/rgba() colour against white (0 if transparent).
    axe-core does not judge focus indicators; the tests measure them with this."""
    parts = [float(p) for p in re.findall(r"[\d.]+", colour)]
    if len(parts) == 4 and parts[3] == 0:
        return 0.0
    return 1.05 / (_luminance((parts[0], parts[1], parts[2])) + 0.05)
