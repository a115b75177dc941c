"""The font of every PDF casetrail writes (the regulator's timeline, invoices, credit notes):
Noto Sans SC, embedded and subset, installed by the project.

The font comes from a Python dependency (`justmytype-intl-cjk`, from PyPI: Google Fonts'
Noto Sans SC, SIL Open Font License 1.1, which allows embedding it in documents), so `uv sync`
installs it with no root and no system package. It is a variable font whose default instance
is Thin, and ReportLab embeds only static TrueType outlines, so the Regular (400) and Bold
(700) instances are made from it once with fontTools (about 30 s each) and kept in a cache
folder: `make install` does it (`python -m casetrail.pdf_fonts`), and the first PDF on a
machine that skipped it does it then.

Where: `CASETRAIL_FONT_DIR`, else `$XDG_CACHE_HOME/casetrail/fonts`, else
`~/.cache/casetrail/fonts`. The file names carry the source package's version and the recipe,
so a new version of either is instanced again; the same inputs give the same bytes on every
machine (the PDF is reproducible).
"""

from __future__ import annotations

import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from importlib import metadata, resources
from multiprocessing import get_context
from pathlib import Path

SOURCE_PACKAGE = "justmytype_intl_cjk"
SOURCE_DISTRIBUTION = "justmytype-intl-cjk"
SOURCE_FILE = ("fonts", "ofl", "notosanssc", "NotoSansSC[wght].ttf")
FAMILY = "NotoSansSC"
WEIGHTS = {"Regular": 400, "Bold": 700}
RECIPE = 2  # bump when _instantiate changes what it writes: cached instances are made again


class FontMissing(RuntimeError):
    """The PDF font is not installed and cannot be made here."""


def font_dir() -> Path:
    """The folder the static instances are kept in."""
    configured = os.environ.get("CASETRAIL_FONT_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "casetrail" / "fonts"


def source_font() -> Path:
    """The variable font file shipped by the dependency."""
    try:
        folder = resources.files(SOURCE_PACKAGE)
    except ModuleNotFoundError:
        raise FontMissing(
            f"the PDF font package {SOURCE_DISTRIBUTION!r} is not installed: run `make "
            "install` (uv sync) in the project") from None
    path = Path(str(folder.joinpath(*SOURCE_FILE)))
    if not path.is_file():
        raise FontMissing(f"{path} is missing from {SOURCE_DISTRIBUTION!r}: reinstall it")
    return path


def instance_path(style: str) -> Path:
    """Where the static instance of a style (Regular, Bold) is kept."""
    version = metadata.version(SOURCE_DISTRIBUTION)
    return font_dir() / f"{FAMILY}-{style}-{version}-r{RECIPE}.ttf"


def ensure_fonts() -> dict[str, Path]:
    """The static Regular and Bold fonts, made now if missing (in parallel processes)."""
    wanted = {style: instance_path(style) for style in WEIGHTS}
    missing = [style for style, path in wanted.items() if not path.is_file()]
    if missing:
        source = source_font()
        font_dir().mkdir(parents=True, exist_ok=True)
        # Spawned, not forked: this may run inside a threaded server on first use.
        with ProcessPoolExecutor(len(missing), mp_context=get_context("spawn")) as pool:
            list(pool.map(_instantiate, [str(source)] * len(missing),
                          [WEIGHTS[s] for s in missing], [style for style in missing],
                          [str(wanted[s]) for s in missing]))
    return wanted


def _instantiate(source: str, weight: int, style: str, target: str) -> None:
    """Write the static instance of `source` at `weight`, named `<FAMILY>-<style>`."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = instancer.instantiateVariableFont(TTFont(source), {"wght": weight})
    font.recalcTimestamp = False  # keep the source's dates: every machine makes the same bytes
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(f"Noto Sans SC {style}" if record.nameID == 4 else "Noto Sans SC",
                          record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 2:
            names.setName(style, 2, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName(f"{FAMILY}-{style}", 6, record.platformID, record.platEncID,
                          record.langID)
    font["OS/2"].usWeightClass = weight
    # Written beside the target and renamed: a reader never sees half a font, and two
    # processes making it at once both end with a whole one.
    handle, temporary = tempfile.mkstemp(dir=Path(target).parent, suffix=".part")
    os.close(handle)
    try:
        font.save(temporary)
        os.chmod(temporary, 0o644)  # readable by the service's own (non-root) user
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


FONT, BOLD = "NotoSansSC", "NotoSansSC-Bold"  # the names registered with ReportLab


@cache
def register_fonts() -> str:
    """Register the embedded font (Regular and Bold) with ReportLab once per process;
    returns the regular font's name (bold: `BOLD`, or `<b>` in a paragraph)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    paths = ensure_fonts()
    pdfmetrics.registerFont(TTFont(FONT, str(paths["Regular"])))
    pdfmetrics.registerFont(TTFont(BOLD, str(paths["Bold"])))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
    return FONT


def main() -> int:
    """`python -m casetrail.pdf_fonts`: make the fonts, print where they are."""
    try:
        for style, path in ensure_fonts().items():
            print(f"{style}: {path}")
    except FontMissing as exc:
        print(f"pdf_fonts: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
