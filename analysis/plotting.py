"""Shared figure conventions: one colour per outlet across every notebook.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"),
chosen because it stays distinguishable under the common colour-vision
deficiencies. Outlets get colours in sorted order, so a given corpus always maps
the same outlet to the same colour.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Okabe-Ito, without black (kept for text) and yellow (weak on white) first.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
#: Colour for groups beyond the palette's length.
OTHER = "#999999"


def outlet_colors(outlets: Iterable[str]) -> dict[str, str]:
    """Map each distinct outlet (sorted) to a palette colour; grey past eight."""
    names = sorted({str(o) for o in outlets})
    return {name: (PALETTE[i] if i < len(PALETTE) else OTHER) for i, name in enumerate(names)}
