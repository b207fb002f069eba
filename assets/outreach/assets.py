"""Outreach assets: the prospects campaigns may email, validated and de-duplicated."""

import hashlib

from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult, asset, asset_check

from assets.common.metadata import table_metadata
from assets.common.paths import DataDirResource
from backbeat.common import csvfiles as f
from backbeat.common.quarantine import record_rejects
from backbeat.common.reference import keep_last_good
from backbeat.outreach.tables import CONTACTS
from integrations.warehouse import WarehouseResource

EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"


def consent(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("yes", "no"):
        raise f.FieldError("must be yes or no")
    return lowered == "yes"


CONTACT_FIELDS = {
    "email": lambda v: f.matching(EMAIL, "an email address")(v).lower(),
    "name": f.text,
    "company": f.optional_text,
    "country": f.optional_text,
    "consent": consent,
}


@asset(key=["outreach", "contacts"], group_name="outreach", kinds={"csv", "sql"})
def contacts(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per prospect from `inbox/outreach/contacts.csv`, keyed by lower-cased email.

    Malformed emails, missing names, consent other than yes/no and duplicate emails go to
    `quarantine.rejected_rows` with file, row and field.
    """
    parsed = f.reject_duplicates(
        f.read_csv(data_dir.inbox / "outreach" / "contacts.csv", CONTACT_FIELDS), lambda r: r["email"], "email"
    )
    frame = CONTACTS.from_rows(
        [
            {
                **r,
                "contact_id": hashlib.sha1(r["email"].encode()).hexdigest()[:12],
                "source_file": r["_source_file"],
                "source_row": r["_row"],
            }
            for r in parsed.rows
        ]
    )
    db = warehouse.client()
    rejected_keys, unknown = parsed.rejected_keys({"email": CONTACT_FIELDS["email"]})
    kept = keep_last_good(
        db,
        CONTACTS,
        "outreach/contacts",
        frame,
        complete=parsed.complete,
        inbox=data_dir.inbox,
        key=["email"],
        rejected_keys=rejected_keys,
        unknown_rejects=unknown,
        log=context.log.warning,
    )
    frame = kept.frame
    record_rejects(db, "outreach/contacts", "", parsed.rejects, context.log.warning)
    return MaterializeResult(
        metadata=table_metadata(
            frame.drop("email"),
            rejected_rows=len(parsed.rejects),
            consenting=int(frame["consent"].sum()) if frame.height else 0,
            **kept.metadata(),
        )
    )


@asset_check(asset=contacts, description="Contact ids and emails are unique.")
def contacts_have_unique_emails(warehouse: WarehouseResource) -> AssetCheckResult:
    row = (
        warehouse.client()
        .query(
            "SELECT count(*) AS n, count(DISTINCT email) AS emails, count(DISTINCT contact_id) AS ids "
            "FROM outreach.contacts"
        )
        .row(0, named=True)
    )
    return AssetCheckResult(passed=row["n"] == row["emails"] == row["ids"], metadata=row)
