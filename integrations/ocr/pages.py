"""Page images of a scanned document: PNG, JPEG, TIFF (every frame); PDF only with a rasteriser installed."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

IMAGE_FORMATS = {"PNG", "JPEG", "TIFF", "MPO"}  # MPO: what some phones save their JPEGs as


class UnreadableScan(ValueError):
    """The file is not a page image this reader can OCR; the message names the file and why."""


def load_pages(path: Path) -> list[Image.Image]:
    """Every page of `path` as a loaded Pillow image, in order."""
    if _is_pdf(path):
        # No PDF rasteriser ships in the environment (pypdfium2 and PyMuPDF are absent, and so is pypdf for
        # pulling out embedded page images); failing loudly beats guessing at PDF internals.
        raise UnreadableScan(
            f"{path}: PDF split sheets are not supported yet (no PDF rasteriser installed); "
            "export the pages as PNG or TIFF"
        )
    try:
        with Image.open(path) as image:
            if image.format not in IMAGE_FORMATS:
                raise UnreadableScan(f"{path}: {image.format} images are not supported; use PNG, JPEG or TIFF")
            pages = []
            for frame in ImageSequence.Iterator(image):
                page = frame.copy()
                page.info.setdefault("dpi", image.info.get("dpi"))
                pages.append(page)
            return pages
    except UnidentifiedImageError:
        raise UnreadableScan(f"{path}: not an image (expected PNG, JPEG, TIFF)") from None
    except FileNotFoundError:
        raise UnreadableScan(f"{path}: no such file") from None
    except OSError as error:
        raise UnreadableScan(f"{path}: cannot be read as an image ({error})") from None


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False
