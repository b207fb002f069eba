"""Rights assets: works, parties and approved splits read from split sheets."""

import polars as pl
from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, multi_asset

from assets.common import csvfiles as f
from assets.common.metadata import table_metadata
from assets.common.paths import DataDirResource
from assets.common.quarantine import record_rejects
from assets.rights.tables import PARTIES, SPLITS, WORKS
from assets.rights.validation import validate_split_rows
from integrations.warehouse import WarehouseResource

SPLIT_SHEET_FIELDS = {
    "work_id": f.text,
    "iswc": f.text,
    "work_title": f.text,
    "party_id": f.text,
    "party_name": f.text,
    "ipi": f.optional_text,
    "role": lambda v: f.text(v).lower(),
    "share_percent": f.decimal,
}


@multi_asset(
    specs=[
        AssetSpec(["rights", "works"], group_name="rights", kinds={"csv", "sql"},
                  description="One row per musical work (composition), from the split sheets."),
        AssetSpec(["rights", "parties"], group_name="rights", kinds={"csv", "sql"},
                  description="One row per rights holder named on a split sheet."),
        AssetSpec(["rights", "splits"], group_name="rights", kinds={"csv", "sql"},
                  description="One row per approved share (work × party × role); shares of a work sum to 100 %."),
    ],
)
def rights_from_split_sheets(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
):
    """Works, parties and approved splits from every CSV split sheet in `inbox/rights/split_sheets/`.

    A work whose rows fail validation (ISWC check digit, role, share format, shares not summing to 100 %) is
    held back whole and its problems go to `quarantine.rejected_rows`: only approved splits move money.
    """
    parsed = f.ParsedFile()
    for sheet in sorted((data_dir.inbox / "rights" / "split_sheets").glob("*.csv")):
        parsed.extend(f.read_csv(sheet, SPLIT_SHEET_FIELDS))
    approved, rejects = validate_split_rows(parsed.rows)
    rejects = parsed.rejects + rejects

    works = pl.DataFrame(
        [{"work_id": r["work_id"], "iswc": r["iswc"], "title": r["work_title"], "source_file": r["_source_file"]}
         for r in parsed.rows], schema=WORKS.polars_schema
    ).unique("work_id", keep="first", maintain_order=True)
    parties = pl.DataFrame(
        [{"party_id": r["party_id"], "name": r["party_name"], "ipi": r["ipi"]} for r in parsed.rows],
        schema=PARTIES.polars_schema,
    ).unique("party_id", keep="first", maintain_order=True)
    splits = pl.DataFrame(
        [{"work_id": r["work_id"], "party_id": r["party_id"], "role": r["role"], "share_bp": r["share_bp"],
          "source_file": r["_source_file"], "source_row": r["_row"]} for r in approved], schema=SPLITS.polars_schema
    )
    db = warehouse.client()
    db.replace(WORKS, works)
    db.replace(PARTIES, parties)
    db.replace(SPLITS, splits)
    record_rejects(db, "rights/splits", "", rejects, context.log.warning)
    held_back = works.height - splits["work_id"].n_unique()
    yield MaterializeResult(asset_key=["rights", "works"], metadata=table_metadata(works))
    yield MaterializeResult(asset_key=["rights", "parties"], metadata=table_metadata(parties))
    yield MaterializeResult(
        asset_key=["rights", "splits"],
        metadata=table_metadata(splits, rejected_rows=len(rejects), works_without_approved_split=held_back),
    )
