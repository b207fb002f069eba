"""OCR intake of scanned split sheets: clean the page, read words with Tesseract, parse the table.

Plain Python, no Dagster: `read_split_sheet(path)` gives a `SplitSheetScan` whose every field keeps its page,
box and confidence; `backbeat/rights/intake.py` turns it into split-sheet lines for the rights rules.
"""

from integrations.ocr.fields import ExtractedField
from integrations.ocr.pages import UnreadableScan
from integrations.ocr.preprocess import PreparedPage, prepare_page
from integrations.ocr.reader import OcrWord, TesseractUnavailable, configure_tesseract, ocr_words
from integrations.ocr.split_sheet import (
    REVIEW_THRESHOLD,
    ScannedSplitRow,
    ScannedWork,
    SplitSheetScan,
    read_split_sheet,
)

__all__ = [
    "ExtractedField",
    "OcrWord",
    "PreparedPage",
    "REVIEW_THRESHOLD",
    "ScannedSplitRow",
    "ScannedWork",
    "SplitSheetScan",
    "TesseractUnavailable",
    "UnreadableScan",
    "configure_tesseract",
    "ocr_words",
    "prepare_page",
    "read_split_sheet",
]
