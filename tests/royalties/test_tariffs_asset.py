"""The tariffs asset keeps the last good version in force: the probes of a careful reviewer, one by one."""

from decimal import Decimal

import polars as pl
import pytest
from click.testing import CliRunner
from dagster import materialize

from assets.common.paths import DataDirResource
from assets.reference.checks import reference_check
from assets.royalties.assets import tariffs
from backbeat.cli import main
from backbeat.common.quarantine import QUARANTINE
from backbeat.common.reference import REFERENCE_CHANGES
from backbeat.royalties.tables import TARIFFS
from integrations.warehouse import Warehouse, WarehouseResource

TARIFFS_CHECK = reference_check("royalties/tariffs")
GOOD = (
    "station_id,currency,rate_per_second,effective_from\n"
    "radio-north,EUR,0.012500,2026-01-01\nradio-south,EUR,0.010000,2026-01-01\nradio-east,EUR,0.020000,2026-01-01\n"
)


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "data" / "inbox" / "royalties"
    folder.mkdir(parents=True)
    return folder


def run(inbox, text: str | bytes) -> tuple[dict, pl.DataFrame, Warehouse]:
    path = inbox / "tariffs.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    data_dir = inbox.parent.parent
    url = f"duckdb:///{data_dir / 'warehouse.duckdb'}"
    result = materialize(
        [tariffs, TARIFFS_CHECK],
        resources={"data_dir": DataDirResource(data_dir=str(data_dir)), "warehouse": WarehouseResource(url=url)},
    )
    assert result.success
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("royalties__tariffs")[0].metadata.items()}
    [check] = result.get_asset_check_evaluations()
    metadata["check_passed"] = check.passed
    db = Warehouse(url)
    return metadata, db.read(TARIFFS).sort("station_id"), db


def rates(frame: pl.DataFrame) -> dict[str, Decimal]:
    return dict(frame.select("station_id", "rate_per_second").iter_rows())


def test_file_missing_a_column_keeps_every_tariff(inbox):
    run(inbox, GOOD)
    metadata, frame, db = run(inbox, GOOD.replace(",currency", "").replace(",EUR", ""))
    assert frame.height == 3
    assert metadata["reference_file_unreadable"] is True
    assert db.read(QUARANTINE, "asset = 'royalties/tariffs'")["reason"].to_list() == ["header lacks required columns"]
    assert db.read(REFERENCE_CHANGES)["status"].to_list() == ["kept"]


def test_latin1_file_keeps_every_tariff_and_names_the_byte(inbox):
    run(inbox, GOOD)
    _, frame, db = run(inbox, (GOOD + "radio-s\xf6d,EUR,0.01,2026-02-01\n").encode("latin-1"))
    assert rates(frame) == {
        "radio-east": Decimal("0.02"),
        "radio-north": Decimal("0.0125"),
        "radio-south": Decimal("0.01"),
    }
    [reason] = db.read(QUARANTINE, "asset = 'royalties/tariffs'")["reason"].to_list()
    assert reason.startswith("is not UTF-8: byte 0xf6 at offset")


@pytest.mark.parametrize(
    ("rate", "why"),
    [("1e-7", "more than 6 decimal places"), ("0.01250005", "more than 6 decimal places"), ("0", "zero_rate=yes")],
)
def test_a_rate_that_would_round_or_is_zero_is_refused_and_the_old_rate_stays(inbox, rate, why):
    run(inbox, GOOD)
    _, frame, db = run(inbox, GOOD.replace("radio-north,EUR,0.012500", f"radio-north,EUR,{rate}"))
    assert rates(frame)["radio-north"] == Decimal("0.0125")
    [reason] = db.read(QUARANTINE, "asset = 'royalties/tariffs'")["reason"].to_list()
    assert why in reason


def test_an_explicit_zero_rate_is_accepted(inbox):
    text = GOOD.replace("effective_from\n", "effective_from,zero_rate\n").replace("2026-01-01\n", "2026-01-01,no\n")
    _, frame, _ = run(inbox, text.replace("radio-north,EUR,0.012500,2026-01-01,no", "radio-north,EUR,0,2026-01-01,yes"))
    assert rates(frame)["radio-north"] == Decimal("0")


def test_a_valid_file_dropping_a_station_is_held_until_a_person_approves(inbox):
    run(inbox, GOOD)
    without_north = "".join(line + "\n" for line in GOOD.splitlines() if not line.startswith("radio-north"))
    metadata, frame, db = run(inbox, without_north)
    assert frame.height == 3 and metadata["reference_change_held"] is True
    assert metadata["check_passed"] is False  # a warning in the UI until a person decides
    [held] = db.read(REFERENCE_CHANGES).to_dicts()
    assert (held["status"], held["rows_removed"], held["examples"]) == ("held", 1, "radio-north 2026-01-01")

    env = {"BACKBEAT_DATA_DIR": str(inbox.parent.parent)}
    listed = CliRunner().invoke(main, ["reference", "list"], env=env)
    assert listed.exit_code == 0 and held["change_id"] in listed.output and "removed 1" in listed.output
    refused = CliRunner().invoke(main, ["reference", "approve", "royalties/tariffs:nope", "--reviewer", "x"], env=env)
    assert refused.exit_code != 0 and "no held change" in refused.output
    approved = CliRunner().invoke(
        main, ["reference", "approve", held["change_id"], "--reviewer", "controller"], env=env
    )
    assert approved.exit_code == 0, approved.output
    metadata, frame, db = run(inbox, without_north)
    assert sorted(frame["station_id"]) == ["radio-east", "radio-south"]
    assert metadata["check_passed"] is True
    assert db.read(REFERENCE_CHANGES)["status"].to_list() == ["applied"]
