"""Page images of a scanned document: PNG, JPEG, TIFF (every frame) and PDF (every page, rendered at 300 DPI)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

IMAGE_FORMATS = {"PNG", "JPEG", "TIFF", "MPO"}  # MPO: what some phones save their JPEGs as
PDF_DPI = 300
# A PDF page beyond this many pixels a side (A0 at 300 DPI is ~9,900) is not a split sheet; refuse, not OOM.
MAX_PDF_PAGE_PX = 12_000


class UnreadableScan(ValueError):
    """The file is not a page image this reader can OCR; the message names the file and why."""


def load_pages(path: Path) -> list[Image.Image]:
    """Every page of `path` as a loaded Pillow image, in order; PDF pages rendered at 300 DPI."""
    if _is_pdf(path):
        return _pdf_pages(path)
    try:
        with Image.open(path) as image:
            if image.format not in IMAGE_FORMATS:
                raise UnreadableScan(f"{path}: {image.format} images are not supported; use PNG, JPEG, TIFF or PDF")
            pages = []
            for frame in ImageSequence.Iterator(image):
                page = frame.copy()
                page.info.setdefault("dpi", image.info.get("dpi"))
                pages.append(page)
            return pages
    except UnidentifiedImageError:
        raise UnreadableScan(f"{path}: not an image (expected PNG, JPEG, TIFF or PDF)") from None
    except FileNotFoundError:
        raise UnreadableScan(f"{path}: no such file") from None
    except OSError as error:
        raise UnreadableScan(f"{path}: cannot be read as an image ({error})") from None


def _pdf_pages(path: Path) -> list[Image.Image]:
    """Rasterise every page with PDFium (the pypdfium2 wheel) at 300 DPI, grey, DPI recorded in `info`.

    A scanner's PDF is one image per page; rendering the page (rather than extracting the embedded image)
    also handles typed PDFs and pages whose image is cropped, rotated or split in strips.
    """
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        raise UnreadableScan(f"{path}: not a readable PDF ({error})") from None
    try:
        if len(document) == 0:
            raise UnreadableScan(f"{path}: the PDF has no pages")
        pages = []
        for index in range(len(document)):
            page = document[index]
            try:
                width_pt, height_pt = page.get_size()
                scale = PDF_DPI / 72
                if max(width_pt, height_pt) * scale > MAX_PDF_PAGE_PX:
                    raise UnreadableScan(
                        f"{path}: page {index + 1} is {width_pt / 72:.0f}×{height_pt / 72:.0f} in, too large for a "
                        "split sheet"
                    )
                # PDFium's image smoothing blurs an upscaled scan (an ISWC read at confidence 71 instead of 89);
                # sharp pixels suit the deskew and Otsu steps better. Vector text is still anti-aliased.
                bitmap = page.render(scale=scale, grayscale=True, no_smoothimage=True)
                try:
                    image = bitmap.to_pil().convert("L")
                finally:
                    bitmap.close()
            finally:
                page.close()
            image.info["dpi"] = (PDF_DPI, PDF_DPI)
            pages.append(image)
        return pages
    finally:
        document.close()


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False
