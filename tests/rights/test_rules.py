"""The rules engine: every rule in rules.yaml fires, with its code, on a sheet crafted to break it, and on
nothing else; severities decide blocked / open / approved."""

from pathlib import Path

import pytest

from backbeat.identifiers import ipi_name_number
from backbeat.rights import intake, rules

W = "W"  # work subject ids below are W1, W2, ...


def _line(work: str, party: str, name: str, ipi: str, role: str, share: str, **extra: str) -> dict[str, str]:
    return {
        "work_id": work,
        "iswc": "",
        "work_title": f"Song {work}",
        "party_id": party,
        "party_name": name,
        "ipi": ipi,
        "role": role,
        "share_percent": share,
        **extra,
    }


@pytest.fixture
def crafted(rights_inbox: Path, rs) -> dict[str, object]:
    """One sheet per rule (and a clean one), read and evaluated."""
    ipi = rs.IPI
    alice = ("P1", "Alice Writer", ipi["P1"])
    bob = ("P2", "Bob Composer", ipi["P2"])
    pub = ("P3", "Harbour Songs", ipi["P3"])
    sheets = {
        "clean.csv": [
            _line("W1", *alice, "writer", "50", iswc=rs.ISWC["W1"]),
            _line("W1", *bob, "composer", "50.00"),
            _line("W1", *pub, "publisher", "100"),
        ],
        "RS001.csv": [
            _line("W2", *alice, "writer", "60"),
            _line("W2", *bob, "writer", "30"),
            _line("W2", *pub, "publisher", "100"),
        ],
        "RS002.csv": [_line("W3", *alice, "writer", "50.005"), _line("W3", *bob, "writer", "half")],
        "RS003.csv": [_line("W4", *alice, "singer", "100")],
        "RS004.csv": [_line("W5", *alice, "writer", "100"), _line("W5", "P5", "Backbeat Records", "", "label", "100")],
        "RS005.csv": [_line("W6", *alice, "writer", "100", iswc="T-034.524.680-2")],
        "RS006.csv": [
            _line(
                "",
                "P6",
                "The Canals",
                "",
                "artist",
                "100",
                subject_type="recording",
                recording_id="T1",
                isrc="NLBB1260001",  # eleven characters
            )
        ],
        "RS007.csv": [_line("W7", "P7", "Eve Arranger", ipi["P7"][:-1] + "0", "arranger", "100")],
        "RS008.csv": [_line("W8", "P99", "Newcomer", ipi_name_number(999), "writer", "100")],
        "RS009.csv": [_line("W9", "", "Nobody Known", "", "writer", "100")],
        "RS010.csv": [_line("W10", *alice, "writer", "50"), _line("W10", *alice, "composer", "50")],
        "RS011.csv": [_line("W11", "P4", "Dana Lyric", ipi["P1"], "lyricist", "100")],
        "RS012.csv": [_line("W12", "P2", "Robert Composer", ipi["P2"], "composer", "100")],
        "RS013_a.csv": [_line("W13", *alice, "writer", "100")],
        "RS013_b.csv": [
            _line("W13", *bob, "writer", "100"),
            _line("W14", *alice, "writer", "100", valid_from="2024-01-01", valid_to="2024-12-31"),
            _line("W14", *bob, "writer", "100", valid_from="2024-06-01"),
        ],
        "RS014.csv": [_line("W15", *alice, "writer", "100", valid_from="2025-01-01", valid_to="2024-01-01")],
        "RS016_a.csv": [_line("W16", *alice, "writer", "100", iswc=rs.ISWC["W2"], valid_to="2023-12-31")],
        "RS016_b.csv": [_line("W16", *alice, "writer", "100", iswc=rs.ISWC["W3"], valid_from="2024-01-01")],
        "RS017.csv": [
            _line(
                "",
                "P6",
                "The Canals",
                "",
                "artist",
                "100",
                subject_type="recording",
                recording_id="T2",
                isrc="nl-bb1-26-00003",  # printed and lower case: a well-formed ISRC, not the catalog's
            )
        ],
        "RS018.csv": [_line("W99", *alice, "writer", "100")],
        "RS019.csv": [_line("W17", *alice, "writer", "100"), _line("", *bob, "writer", "100")],
        "RS020.csv": [_line("W18", "P4", "Dana Lyric", "", "lyricist", "100")],
        "RS021.csv": [_line("W20", *alice, "writer", "100")],
        "RS022.csv": [
            _line("W21", *alice, "writer", "100", work_title="Harbor Sirens"),
            _line("W21", *pub, "publisher", "100", work_title="Harbor Sirens"),
        ],  # becomes a scan below
    }
    for name, rows in sheets.items():
        rs.write_csv(rights_inbox / "split_sheets" / name, rs.FULL_HEADER, rows)
    register, register_rejects = intake.read_party_register(rights_inbox / "parties.csv")
    assert register_rejects == []
    read = intake.read_split_sheets(rights_inbox / "split_sheets", rights_inbox, register)
    catalog = rules.Catalog({t: isrc for t, (isrc, _) in rs.TRACKS.items()}, frozenset(f"W{i}" for i in range(1, 19)))
    rejected = {}
    for reject in read.rejects:
        rejected[reject.source_file] = rejected.get(reject.source_file, 0) + 1
    # A low-confidence OCR field pointing at the clean sheet's second line (RS015 is agnostic of file type).
    provenance = [
        {
            "source_file": "split_sheets/RS015.csv",
            "page": 1,
            "row_number": 2,
            "field": "share_percent",
            "value": "5O.00",
            "bbox": "10,20,30,40",
            "confidence": 41.0,
            "needs_review": True,
        },
        # A line of a scan read into no field (RS021 is agnostic of file type, like RS015).
        {
            "source_file": "split_sheets/RS021.csv",
            "page": 2,
            "row_number": 0,
            "field": "unread_text",
            "value": "Tidewater Music Ltd 50%",
            "bbox": "100,900,700,40",
            "confidence": 88.0,
            "needs_review": True,
        },
    ]
    rs.write_csv(rights_inbox / "split_sheets" / "RS015.csv", rs.FULL_HEADER, [_line("W19", *alice, "writer", "100")])
    read = intake.read_split_sheets(rights_inbox / "split_sheets", rights_inbox, register)

    def as_scan(source: str, name: str, subject: str, title: str | None) -> list[dict]:
        """The lines of sheet `source` as if OCR had read them from scan `name` (RS022 and RS023 are about scans)."""
        return intake.assign_split_sets(
            [
                {
                    **line,
                    "source_file": f"split_sheets/{name}",
                    "subject_id": subject,
                    "page": 1,
                    "min_confidence": 93.0,
                    "iswc": None,
                    "title": title,
                    "row_number": i,
                }
                for i, line in enumerate(read.lines, start=1)
                if Path(line["source_file"]).name == source
            ]
        )

    # A scan titled differently from the catalog's work (RS022), and one whose publishers were not read (RS023).
    scans = as_scan("RS022.csv", "RS022.png", "W21", "Harbor Sirens") + as_scan("RS021.csv", "RS023.png", "W22", None)
    read.lines[:] = [line for line in read.lines if Path(line["source_file"]).name != "RS022.csv"] + scans
    catalog = rules.Catalog(
        catalog.recordings,
        catalog.works | {"W19", "W20", "W21", "W22"},
        work_titles={"W21": frozenset({"Harbour Lights"}), "W1": frozenset({"Other Song"})},
    )
    findings = rules.evaluate(read.lines, provenance, register, catalog, rejected)
    sets = rules.split_sets(read.lines)
    return {"read": read, "findings": findings, "sets": sets, "statuses": rules.set_statuses(sets, findings)}


def _codes_by_file(crafted) -> dict[str, set[str]]:
    by_file: dict[str, set[str]] = {}
    for set_id, split_set in crafted["sets"].items():
        for source in split_set.source_files:
            by_file.setdefault(Path(source).name, set()).update(crafted["statuses"][set_id][1])
    return by_file


def test_every_rule_fires_on_its_sheet_and_nothing_else_fires(crafted):
    codes = _codes_by_file(crafted)
    assert codes == {
        "clean.csv": set(),
        "RS001.csv": {"RS001"},
        "RS002.csv": {"RS002"},
        "RS003.csv": {"RS003"},
        "RS004.csv": {"RS004"},
        "RS005.csv": {"RS005"},
        "RS006.csv": {"RS006"},
        "RS007.csv": {"RS007", "RS012"},  # a wrong IPI is also not the register's
        "RS008.csv": {"RS008"},
        "RS009.csv": {"RS009"},
        "RS010.csv": {"RS010"},
        "RS011.csv": {"RS011"},
        "RS012.csv": {"RS012"},
        "RS013_a.csv": {"RS013"},
        "RS013_b.csv": {"RS013"},
        "RS014.csv": {"RS014"},
        "RS015.csv": {"RS015"},
        "RS016_a.csv": {"RS016"},
        "RS016_b.csv": {"RS016"},
        "RS017.csv": {"RS017"},
        "RS018.csv": {"RS018"},
        "RS019.csv": {"RS019"},
        "RS020.csv": {"RS020"},
        "RS021.csv": {"RS021"},
        "RS022.png": {"RS022"},
        "RS023.png": {"RS023"},
    }
    assert {r.code for r in rules.load_rules()} == set().union(*codes.values())


@pytest.mark.parametrize("printed", ["NL-BB1-26-00001", "nlbb12600001", "NL BB1 26 00001"])
def test_a_printed_or_lower_case_isrc_is_the_catalogs_isrc(rights_inbox: Path, rs, printed: str):
    # The printed form (as MusicBrainz and labels write it) is the same ISRC: neither RS006 nor RS017 fires.
    line = _line("", "P6", "The Canals", "", "artist", "100", subject_type="recording", recording_id="T1", isrc=printed)
    rs.write_csv(rights_inbox / "split_sheets" / "printed.csv", rs.FULL_HEADER, [line])
    register, _ = intake.read_party_register(rights_inbox / "parties.csv")
    read = intake.read_split_sheets(rights_inbox / "split_sheets", rights_inbox, register)
    catalog = rules.Catalog({t: isrc for t, (isrc, _) in rs.TRACKS.items()}, frozenset())
    findings = rules.evaluate(read.lines, [], register, catalog, {})
    assert [(f.rule_code, f.value) for f in findings] == []
    assert [line["isrc"] for line in read.lines] == [printed]  # kept as written on the sheet


def test_severity_decides_blocked_open_or_approved(crafted):
    by_file = {Path(s.source_files[0]).name: crafted["statuses"][i][0] for i, s in crafted["sets"].items()}
    assert by_file["clean.csv"] == "approved"
    assert by_file["RS020.csv"] == "approved"  # info only
    assert {
        by_file[f]
        for f in (
            "RS008.csv",
            "RS011.csv",
            "RS012.csv",
            "RS015.csv",
            "RS018.csv",
            "RS021.csv",
            "RS022.png",
            "RS023.png",
        )
    } == {"open"}
    assert {by_file[f] for f in ("RS001.csv", "RS002.csv", "RS005.csv", "RS007.csv", "RS013_a.csv", "RS019.csv")} == {
        "blocked"
    }


def test_findings_name_the_rule_file_row_field_and_value(crafted):
    def finding(code: str):
        (found,) = [f for f in crafted["findings"] if f.rule_code == code]
        return found

    total = finding("RS001")
    assert (total.severity, total.source_file, total.row_number, total.field, total.value) == (
        "error",
        "split_sheets/RS001.csv",
        None,
        "share_percent",
        "90.00",
    )
    assert total.message == "writer shares of work W2 (no validity dates) sum to 90.00 %, not 100.00 %"
    iswc = finding("RS005")
    assert (iswc.row_number, iswc.field, iswc.value) == (2, "iswc", "T-034.524.680-2")
    assert iswc.message == "ISWC 'T-034.524.680-2' has check digit 2, expected 1"
    ocr = finding("RS015")
    assert ocr.message == (
        "share_percent on page 1 read as '5O.00' with OCR confidence 41 (needs 80); check it on the scan at 10,20,30,40"
    )
    assert (ocr.row_number, ocr.party_id) == (2, "P1")
    shared = finding("RS011")
    assert shared.message == f"IPI {shared.value} is given for more than one party: P1, P4"
    overlap = [f for f in crafted["findings"] if f.rule_code == "RS013" and f.subject_id == "W14"]
    assert len(overlap) == 2 and "from 2024-06-01 to 2024-12-31" in overlap[0].message
    unread = finding("RS019")
    assert unread.message.startswith("1 row(s) of split_sheets/RS019.csv could not be read")
    unread_text = finding("RS021")
    assert (unread_text.severity, unread_text.field, unread_text.value) == (
        "warning",
        "unread_text",
        "Tidewater Music Ltd 50%",
    )
    assert unread_text.message == (
        "page 2 of the scan has text that was read into no field at 100,900,700,40: "
        "'Tidewater Music Ltd 50%'; check it for parties, shares or another work"
    )
    title = finding("RS022")
    assert title.message == (
        "the sheet gives work W21 the title 'Harbor Sirens'; the catalog knows it as 'Harbour Lights'"
    )
    pool = finding("RS023")
    assert (pool.subject_id, pool.severity) == ("W22", "warning") and "publisher pool's money stays in suspense" in (
        pool.message
    )
    duplicate = finding("RS010")
    assert duplicate.message == "party P1 appears 2 times in the writer pool of this split set (rows 2, 3)"


def test_a_row_without_subject_is_rejected_with_file_row_and_field(crafted):
    assert [(r.source_file, r.row_number, r.field) for r in crafted["read"].rejects] == [
        ("split_sheets/RS019.csv", 3, "work_id")
    ]


def test_rules_file_is_validated(tmp_path):
    rules_yaml = rules.RULES_FILE.read_text()
    assert len(rules.load_rules()) == 23
    for broken, message in (
        (rules_yaml.replace("severity: warning", "severity: fatal", 1), "severity 'fatal'"),
        (rules_yaml.replace("code: RS002", "code: RS001", 1), "RS001 is used twice"),
        (rules_yaml.replace("check: share_format", "check: share_shape", 1), "no known check 'share_shape'"),
        (
            rules_yaml.replace(
                "check: shares_sum_to_full\n  severity: error", "check: shares_sum_to_full\n  severity: warning"
            ),
            "must be an error",
        ),
    ):
        path = tmp_path / "rules.yaml"
        path.write_text(broken)
        with pytest.raises(ValueError, match=message):
            rules.load_rules(path)


def test_messages_use_only_the_placeholders_their_checks_fill(crafted):
    # Every rule fired above and its message formatted; a rule whose template names a missing placeholder
    # would have raised KeyError there. Here: templates name no stray fields.
    for rule in rules.load_rules():
        assert rules.placeholders(rule.message), rule.code


def test_a_severity_changed_in_the_data_changes_the_outcome(crafted, rights_inbox, tmp_path):
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        rules.RULES_FILE.read_text().replace(
            "check: party_registered\n  severity: warning", "check: party_registered\n  severity: error"
        )
    )
    register, _ = intake.read_party_register(rights_inbox / "parties.csv")
    lines = [line for line in crafted["read"].lines if line["subject_id"] == "W8"]
    findings = rules.evaluate(lines, [], register, rules.Catalog(works=frozenset({"W8"})), {}, rules.load_rules(strict))
    assert [(f.rule_code, f.severity) for f in findings] == [("RS008", "error")]
    assert list(rules.set_statuses({lines[0]["split_set_id"]}, findings).values()) == [("blocked", ["RS008"])]
