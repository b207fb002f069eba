"""The stand-in for jsonschema's optional IRI grammar: processes that load the code location, the CLI or dbt
skip building it, and the two formats it checks still validate exactly as with the real package."""

from __future__ import annotations

import json
import subprocess
import sys

from backbeat.settings import DBT_EXECUTABLE

CASES = ["http://ex.ample/ü", "not an iri", "a b", "urn:isrc:GBAYE0601498", "//host/path?q=1#f", "http://[::1", ""]

VALIDATE = f"""
import json, sys
import jsonschema
loaded_at_import = "rfc3987_syntax.syntax_helpers" in sys.modules
checker = jsonschema.FormatChecker()
answers = [[checker.conforms(v, "iri"), checker.conforms(v, "iri-reference")] for v in {CASES!r}]
print(json.dumps({{"loaded_at_import": loaded_at_import, "answers": answers}}))
"""


def run_python(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_the_code_location_skips_the_grammar_and_iris_validate_as_before():
    plain = run_python(VALIDATE)
    deferred = run_python("import orchestration\n" + VALIDATE)
    assert plain["loaded_at_import"] is True  # what every process paid before
    assert deferred["loaded_at_import"] is False
    assert deferred["answers"] == plain["answers"]
    assert [True, True] in plain["answers"] and [False, False] in plain["answers"]  # both kinds of answer


def test_the_command_line_registers_the_stand_in_before_anything_imports_jsonschema():
    state = run_python(
        "import json, sys\nimport backbeat.cli\n"
        "print(json.dumps({'stand_in': getattr(sys.modules.get('rfc3987_syntax'), '__backbeat_stand_in__', False)}))"
    )
    assert state == {"stand_in": True}


def test_an_imported_package_is_left_alone():
    state = run_python(
        "import json, rfc3987_syntax\nfrom backbeat.lazy_grammar import defer_rfc3987_syntax\n"
        "print(json.dumps({'registered': defer_rfc3987_syntax(), 'real': hasattr(rfc3987_syntax, 'syntax_helpers')}))"
    )
    assert state == {"registered": False, "real": True}


def test_backbeat_dbt_is_dbts_command_line():
    dbt = DBT_EXECUTABLE.replace("backbeat-dbt", "dbt")
    outcomes = {}
    for args in (["--version"], ["no-such-command"]):
        ours = subprocess.run([DBT_EXECUTABLE, *args], capture_output=True, text=True)
        theirs = subprocess.run([dbt, *args], capture_output=True, text=True)
        assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), args
        outcomes[args[0]] = ours
    assert outcomes["--version"].returncode == 0 and "Core:" in outcomes["--version"].stdout
    assert outcomes["no-such-command"].returncode != 0
