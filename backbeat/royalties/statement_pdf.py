"""A party's statement as a PDF (ReportLab): what a finance controller sends an artist or publisher.

One page flow per `StatementDocument`: the party, month, currency and status; the summary (opening balance,
earnings, adjustments, payouts, closing balance, held for disputed plays); earnings by track and by station;
adjustments with the month and plays they correct; payouts; the contract section and, for a party paid in another
currency, the currency conversions (amount, rate and its day, converted amount, rounding posted) with the closing
balance in the payout currency. An open month's statement carries a PROVISIONAL
label and a diagonal watermark on every page. The bytes are deterministic (ReportLab's invariant mode): the
same document always renders to the same file, so a closed month's PDF never changes.
"""

from __future__ import annotations

import calendar
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from backbeat.royalties.statement_conversion import format_exact
from backbeat.royalties.statement_people import (
    CONVERSION_TOTALS,
    SUMMARY_ITEMS,
    StatementDocument,
    contract_rows,
    conversion_rows,
    format_amount,
)

WATERMARK = "PROVISIONAL"
_STYLES = getSampleStyleSheet()
_GRID = TableStyle(
    [
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.2, colors.lightgrey),
        ("ALIGN", (-1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _month_name(period: str) -> str:
    year, month = period.split("-")
    return f"{calendar.month_name[int(month)]} {year}"


def _cell(text: str) -> Paragraph:
    return Paragraph(
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
        _STYLES["BodyText"].clone("cell", fontSize=8.5, leading=10),
    )


PLAYS_SHOWN = 10
"""Play ids an adjustment row shows in the PDF; the CSV lists them all (a long list would not fit on a page)."""


def _play_list(play_ids: Sequence[str]) -> str:
    shown = ", ".join(play_ids[:PLAYS_SHOWN])
    more = len(play_ids) - PLAYS_SHOWN
    return f"{shown} and {more} more (all in the CSV)" if more > 0 else shown


def _table(header: Sequence[str], rows: list[list[Any]], widths: Sequence[float], numeric: int = 1) -> Table:
    table = Table([list(header), *rows], colWidths=[w * mm for w in widths], repeatRows=1, hAlign="LEFT")
    style = TableStyle(list(_GRID.getCommands()))
    if numeric > 1:
        style.add("ALIGN", (-numeric, 0), (-1, -1), "RIGHT")
    table.setStyle(style)
    return table


def _section(title: str) -> list[Flowable]:
    return [Spacer(1, 5 * mm), Paragraph(title, _STYLES["Heading3"])]


def _flowables(d: StatementDocument) -> list[Flowable]:
    money = d.currency
    status = f"{WATERMARK} — the month is open, figures may change" if d.provisional else "Final — the month is closed"
    story: list[Flowable] = [
        Paragraph(f"Royalty statement — {_month_name(d.period)}", _STYLES["Title"]),
        Paragraph(f"<b>{_cell(d.party_name).text}</b> (party {_cell(d.party_id).text})", _STYLES["Normal"]),
        Paragraph(f"Period {d.period} · Currency {money} · Status: {status}", _STYLES["Normal"]),
        Paragraph(
            f"As of {d.as_of}" + (f" · closed by {_cell(d.closed_by).text}" if d.closed_by else ""), _STYLES["Normal"]
        ),
        *_section("Summary"),
        _table(
            ["", f"Amount ({money})"],
            [[label, format_amount(getattr(d, f"{item}_minor"), money)] for item, label in SUMMARY_ITEMS],
            [135, 35],
        ),
        *_section("Earnings by track"),
        _table(
            ["Track", "Artist", "Plays", f"Amount ({money})"],
            [[_cell(t.title), _cell(t.artist), t.plays, format_amount(t.amount_minor, money)] for t in d.tracks]
            or [["No earnings this month", "", "", ""]],
            [75, 45, 15, 35],
            numeric=2,
        ),
        *_section("Earnings by station"),
        _table(
            ["Station", "Plays", f"Amount ({money})"],
            [[_cell(s.name), s.plays, format_amount(s.amount_minor, money)] for s in d.stations]
            or [["No earnings this month", "", ""]],
            [120, 15, 35],
            numeric=2,
        ),
        *_section("Adjustments (corrections of earlier plays)"),
        _table(
            ["Corrects", "Track on station", "Plays corrected", f"Amount ({money})"],
            [
                [
                    a.corrects_period,
                    _cell(f"{a.title} on {a.station_name}" + (f" — {a.reason}" if a.reason else "")),
                    _cell(_play_list(a.play_ids)),
                    format_amount(a.amount_minor, money),
                ]
                for a in d.adjustments
            ]
            or [["", "No adjustments this month", "", ""]],
            [18, 87, 40, 25],
        ),
        *_section("Payouts"),
        _table(
            ["Payout", "Paid on", f"Amount ({money})"],
            [[p.payout_id, p.paid_on, format_amount(p.amount_minor, money)] for p in d.payouts]
            or [["No payouts this month", "", ""]],
            [90, 45, 35],
        ),
    ]
    if d.contract is not None:
        story += [
            *_section("Contract"),
            _table(
                ["", "Contract", f"Amount ({money})"],
                [
                    [label, _cell(contract), format_amount(amount, money)]
                    for _, label, contract, amount in contract_rows(d)
                ],
                [105, 30, 35],
                numeric=2,
            ),
        ]
    if d.conversion is not None:
        story += _conversion(d)
    return story


def _conversion(d: StatementDocument) -> list[Flowable]:
    """The currency conversion section: one row per conversion, then the balances it leaves."""
    lines = d.conversion.lines if d.conversion is not None else []
    totals = [r for r in conversion_rows(d) if r[0] in CONVERSION_TOTALS]
    return [
        *_section("Currency conversion"),
        _table(
            ["Converted on", "Amount converted", "Rate", "Converted amount", "Rounding posted"],
            [
                [
                    _cell(f"{c.converted_on} ({c.rate_source})" if c.rate_source else c.converted_on),
                    f"{c.from_currency} {format_amount(c.from_amount_minor, c.from_currency)}",
                    f"1 {c.from_currency} = {c.rate} {c.to_currency}",
                    f"{c.to_currency} {format_amount(c.to_amount_minor, c.to_currency)}",
                    f"{c.to_currency} {format_exact(c.rounding_nanos, c.to_currency)}",
                ]
                for c in lines
            ]
            or [["No conversion this month", "", "", "", ""]],
            [30, 33, 41, 33, 33],
            numeric=4,
        ),
        Spacer(1, 2 * mm),
        _table(["", "Amount"], [[label, f"{currency} {text}"] for _, label, _, currency, _, text in totals], [135, 35]),
    ]


def _watermark(canvas: Any, _doc: Any) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica-Bold", 80)
    canvas.setFillColor(colors.Color(0.85, 0.1, 0.1, alpha=0.15))
    canvas.translate(A4[0] / 2, A4[1] / 2)
    canvas.rotate(45)
    canvas.drawCentredString(0, -25, WATERMARK)
    canvas.restoreState()


def _plain(_canvas: Any, _doc: Any) -> None:
    return None


def render_pdf(documents: list[StatementDocument], target: Path | None = None) -> bytes:
    """The documents as one PDF (a new page per party and currency); written to `target` too when given."""
    if not documents:
        raise ValueError("no statement to render")
    buffer = io.BytesIO()
    first = documents[0]
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Royalty statement {first.period} {first.party_name}",
        author="Backbeat",
        invariant=1,
    )
    story: list[Flowable] = []
    for i, document in enumerate(documents):
        if i:
            story.append(PageBreak())
        story += _flowables(document)
    page = _watermark if any(d.provisional for d in documents) else _plain
    pdf.build(story, onFirstPage=page, onLaterPages=page)
    data = buffer.getvalue()
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return data
