"""OCR intake of scanned split sheets: clean the page, read words with Tesseract, parse the table.

Plain Python, no Dagster: `read_split_sheet(path)` gives a `SplitSheetScan`; `to_csv_rows` turns a scan with
nothing left to review into rows for `assets/rights/validation.validate_split_rows`.
"""

from integrations.ocr.fields import ExtractedField
from integrations.ocr.pages import UnreadableScan
from integrations.ocr.preprocess import PreparedPage, prepare_page
from integrations.ocr.reader import OcrWord, TesseractUnavailable, configure_tesseract, ocr_words
from integrations.ocr.split_sheet import (
    ScannedSplitRow,
    ScanNeedsReview,
    SplitSheetScan,
    read_split_sheet,
    to_csv_rows,
)

__all__ = [
    "ExtractedField",
    "OcrWord",
    "PreparedPage",
    "ScanNeedsReview",
    "ScannedSplitRow",
    "SplitSheetScan",
    "TesseractUnavailable",
    "UnreadableScan",
    "configure_tesseract",
    "ocr_words",
    "prepare_page",
    "read_split_sheet",
    "to_csv_rows",
]
