"""WCAG AA contrast of the console's colours, computed from its style sheet: text at least
4.5:1 on every background it is declared with or can sit on, borders and the focus ring at
least 3:1 (WCAG 2.1, 1.4.3 and 1.4.11)."""

from __future__ import annotations

import re

import pytest

from local.console_files import CONSOLE_DIR

CSS = (CONSOLE_DIR / "console.css").read_text(encoding="utf-8")
TEXT, NON_TEXT = 4.5, 3.0
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_DECLARATION = re.compile(r"([\w-]+)\s*:\s*([^;]+)")


def _rules() -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    return [
        (selector.strip(), {k.strip(): v.strip() for k, v in _DECLARATION.findall(body)})
        for selector, body in _RULE.findall(css)
    ]


VARIABLES = {k: v for selector, decls in _rules() if selector == ":root" for k, v in decls.items()}


def colour(value: str) -> tuple[float, float, float] | None:
    """The sRGB colour of a CSS value (hex or a variable of one), or None for anything else."""
    match = re.search(r"var\((--[\w-]+)\)", value)
    if match:
        return colour(VARIABLES[match.group(1)])
    match = re.search(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", value)
    if not match:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    r, g, b = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def luminance(rgb: tuple[float, float, float]) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _declared(*properties: str, alone: bool = False) -> dict[str, tuple[float, float, float]]:
    """Colours of these properties by rule; with ``alone``, only rules that set no text colour
    (a panel that text of any colour can sit on)."""
    found = {}
    for selector, decls in _rules():
        if alone and colour(decls.get("color", "")) is not None:
            continue
        for name in properties:
            rgb = colour(decls.get(name, ""))
            if rgb is not None:
                found[f"{selector} {{{name}}}"] = rgb
    return found


def _background(decls: dict[str, str]) -> tuple[float, float, float] | None:
    return colour(decls.get("background", decls.get("background-color", "")))


# Text colours that come with their own background (a primary button, an error notice) are
# checked on that background; the others inherit onto any panel.
TEXT_COLOURS = {
    f"{selector} {{color}}": rgb
    for selector, decls in _rules()
    if (rgb := colour(decls.get("color", ""))) is not None and _background(decls) is None
}
PANELS = {"page": (1.0, 1.0, 1.0), **_declared("background", "background-color", alone=True)}
EDGES = _declared("border", "border-color", "border-left", "outline")


def test_the_sheet_declares_the_colours_checked_here() -> None:
    assert len(TEXT_COLOURS) >= 6 and len(PANELS) >= 4 and len(EDGES) >= 5
    assert ratio((0, 0, 0), (1, 1, 1)) == pytest.approx(21)
    assert ratio((1, 1, 1), (1, 1, 1)) == pytest.approx(1)


def test_text_declared_with_its_background_passes_aa() -> None:
    pairs = [
        (selector, text, background)
        for selector, decls in _rules()
        if (text := colour(decls.get("color", ""))) and (background := _background(decls))
    ]
    assert len(pairs) >= 2  # the primary button, the error notice
    failing = [f"{s}: {ratio(t, b):.2f}:1" for s, t, b in pairs if ratio(t, b) < TEXT]
    assert failing == []


@pytest.mark.parametrize("panel", sorted(PANELS))
def test_every_text_colour_passes_aa_on_every_panel(panel: str) -> None:
    """Text inherits its colour, so any of them can sit on any panel (a hint in a notice, a
    link in the header bar)."""
    failing = [
        f"{name}: {ratio(rgb, PANELS[panel]):.2f}:1"
        for name, rgb in TEXT_COLOURS.items()
        if ratio(rgb, PANELS[panel]) < TEXT
    ]
    assert failing == []


@pytest.mark.parametrize("panel", sorted(PANELS))
def test_borders_and_the_focus_ring_are_visible_on_every_panel(panel: str) -> None:
    failing = [
        f"{edge}: {ratio(rgb, PANELS[panel]):.2f}:1"
        for edge, rgb in EDGES.items()
        if ratio(rgb, PANELS[panel]) < NON_TEXT
    ]
    assert failing == []
