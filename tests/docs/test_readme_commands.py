"""The README's shell commands work as written, so a wrong README fails CI.

Every fenced ```bash/```sh/```shell/```console block of README.md is a test. By default a block runs as written
with bash in the repository root, the venv's bin first on PATH, against a copy of a small generated demo whose
reference data is materialized (the state `make demo` leaves that the commands rely on), and must exit 0. An HTML
comment on the line before a block changes that, visibly in the README:

    <!-- readme-test: skip REASON -->   not run (servers, `make demo` itself, the whole test suite); shown as skipped
    <!-- readme-test: help REASON -->   a reference with placeholders: each command's path (`backbeat rights review
                                        approve`; `a|b` alternatives expanded) must answer `--help`, and that help
                                        must list every `--option` the line uses

So a new block, or a new command in a runnable block, is tested without anyone remembering to add it. The help of
this project's own console scripts is asked in-process through their installed entry points (one process start
of the CLI costs seconds; a separate test checks the shell finds those scripts in the venv); other programs'
help runs with bash.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from backbeat.demo import generate_demo

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent  # not resolved: the venv's python is a symlink to the system one
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
MODES = {"run", "skip", "help"}
MARKER = re.compile(r"<!--\s*readme-test:\s*(\S+)\s*(.*?)\s*-->")
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
PATH_WORD = re.compile(r"[a-z][a-z0-9-]*")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
DAGSTER_RUN = re.compile(r"\bdagster\s+(asset\s+materialize|job\s+execute)\b")
# Settings of the developer's shell that would point the commands somewhere else than the copied demo.
FOREIGN_SETTINGS = ("BACKBEAT_", "DAGSTER_", "SPOTIFY_", "MUSICBRAINZ_", "DBT_")
TIMEOUT_S = 480
PROJECT_SCRIPTS = {e.name: e for e in distribution("backbeat").entry_points if e.group == "console_scripts"}


@dataclass(frozen=True)
class Block:
    """One fenced shell block of the README and what the test does with it."""

    line: int  # of the opening fence, 1-based
    section: str
    mode: str
    reason: str
    script: str  # what bash reads: the block's text, or a console block's `$ ` lines

    @property
    def id(self) -> str:
        words = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")
        return f"L{self.line}-{words or 'top'}"


def parse_blocks(text: str) -> list[Block]:
    """The shell blocks of a Markdown text, each with the mode its marker gives (default: run)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    section, pending, index = "", None, 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence:
            end = next((j for j in range(index + 1, len(lines)) if lines[j].startswith(fence.group(1))), len(lines))
            language = fence.group(2).lower()
            if language in SHELL_LANGUAGES:
                mode, reason = pending or ("run", "")
                body = lines[index + 1 : end]
                script = "\n".join(_console_commands(body) if language == "console" else body) + "\n"
                blocks.append(Block(index + 1, section, mode, reason, script))
            elif pending:
                raise ValueError(f"README line {index + 1}: a readme-test marker before a ```{language} block")
            pending, index = None, end + 1
            continue
        marker = MARKER.fullmatch(line.strip())  # a marker quoted inside prose is not one
        if marker:
            mode, reason = marker.group(1), marker.group(2)
            if mode not in MODES:
                raise ValueError(f"README line {index + 1}: unknown readme-test mode {mode!r} (use {sorted(MODES)})")
            if mode == "skip" and not reason:
                raise ValueError(f"README line {index + 1}: a skip needs a reason")
            pending = (mode, reason)
        elif line.strip():
            if pending:
                raise ValueError(f"README line {index + 1}: a readme-test marker must sit right before its block")
            if line.startswith("#"):
                section = line.lstrip("#").strip()
        index += 1
    if pending:
        raise ValueError("README: a readme-test marker at the end, with no block after it")
    return blocks


def _console_commands(body: list[str]) -> list[str]:
    """The commands of a console transcript: `$ ` lines and their backslash continuations, not the output."""
    commands, continuing = [], False
    for line in body:
        if line.startswith("$ ") or continuing:
            commands.append(line[2:] if line.startswith("$ ") and not continuing else line)
            continuing = line.endswith("\\")
    return commands


def commands(script: str) -> list[str]:
    """The script's commands, one per logical line (continuations joined), without blank or comment-only lines."""
    joined = re.sub(r"\\\n", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def help_probes(command: str) -> list[tuple[list[str], list[str]]]:
    """(argv that asks for help, options the help must list) for a reference line with placeholders.

    The command's path is its leading lowercase words; `generate|run|summary` in the path means three commands.
    The path ends at the first placeholder (`STATION_ID`), option, or argument (`spotify:album:ID`).
    """
    tokens = shlex.split(command, comments=True)
    paths: list[list[str]] = [[]]
    for token in tokens:
        choices = token.split("|")
        if not all(PATH_WORD.fullmatch(choice) for choice in choices):
            break
        paths = [path + [choice] for path in paths for choice in choices]
    options = sorted(set(OPTION.findall(" ".join(tokens))))
    return [([*path, "--help"], options) for path in paths]


def readme_blocks() -> list[Block]:
    return parse_blocks(README.read_text(encoding="utf-8"))


def environment(root: Path) -> dict[str, str]:
    """The environment the README's commands run in: the venv first on PATH, the demo copy under `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_SETTINGS)}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        BACKBEAT_DATA_DIR=str(root / "data"),
        DAGSTER_HOME=str(root / "dagster_home"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `script` with bash in the repository root, in its own process group (stopped whole on timeout)."""
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=REPO_ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        err += f"\n[killed after {TIMEOUT_S} s]"
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def tail(result: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


def successful_runs(dagster_home: Path) -> int:
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        return len(instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.SUCCESS])))


# ---- Fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_with_reference_data(tmp_path_factory) -> Path:
    """`data/` and `dagster_home/` of a small demo (the size tests/pipeline uses) after `reference_data_job`:
    catalog, rights, tariffs, the fingerprint index, and the stations registered as partitions."""
    root = tmp_path_factory.mktemp("readme-demo")
    generate_demo(root / "data", minutes_per_station=12, n_artists=8, n_tracks=14, tracks_with_audio=8)
    (root / "dagster_home").mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.local.yaml", root / "dagster_home" / "dagster.yaml")
    result = bash("dagster job execute -m orchestration.definitions -j reference_data_job", environment(root))
    assert result.returncode == 0, f"setting up the demo failed:\n{tail(result)}"
    return root


@pytest.fixture
def demo_copy(demo_with_reference_data: Path, tmp_path: Path) -> Path:
    """A copy of the demo each test may change."""
    return Path(shutil.copytree(demo_with_reference_data, tmp_path / "demo", symlinks=True))


# ---- The parser -----------------------------------------------------------------------------------------------

SAMPLE = """# Title
## Run me
Mark a block with `<!-- readme-test: skip REASON -->` on the line before it.

```bash
export A=1 \\
  B=2   # two at once
echo "$A$B"   # prints 12
```

<!-- readme-test: skip a server -->
```sh
make ui
```

<!-- readme-test: help placeholders -->
```bash
tool demo generate|run STATION --at NOW [--note ...]
```

```console
$ echo hi \\
    there
hi there
```

```python
print("not shell")
```
"""


def test_parser_reads_modes_sections_continuations_and_console_prompts():
    blocks = parse_blocks(SAMPLE)
    assert [(b.line, b.section, b.mode, b.reason) for b in blocks] == [
        (5, "Run me", "run", ""),
        (12, "Run me", "skip", "a server"),
        (17, "Run me", "help", "placeholders"),
        (21, "Run me", "run", ""),
    ]
    assert commands(blocks[0].script) == ["export A=1    B=2   # two at once", 'echo "$A$B"   # prints 12']
    assert commands(blocks[3].script) == ["echo hi      there"]
    assert help_probes(commands(blocks[2].script)[0]) == [
        (["tool", "demo", "generate", "--help"], ["--at", "--note"]),
        (["tool", "demo", "run", "--help"], ["--at", "--note"]),
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("<!-- readme-test: later -->\n```bash\nls\n```\n", "unknown readme-test mode", id="unknown-mode"),
        pytest.param("<!-- readme-test: skip -->\n```bash\nls\n```\n", "needs a reason", id="skip-without-reason"),
        pytest.param(
            "<!-- readme-test: skip slow -->\ntext\n```bash\nls\n```\n",
            "right before its block",
            id="marker-away-from-block",
        ),
        pytest.param(
            "<!-- readme-test: skip slow -->\n```python\npass\n```\n",
            "before a ```python block",
            id="marker-before-non-shell",
        ),
    ],
)
def test_parser_refuses_markers_it_would_silently_ignore(text, message):
    with pytest.raises(ValueError, match=message):
        parse_blocks(text)


def test_readme_runs_some_materializations_and_skips_with_reasons():
    """The markers cannot quietly turn the test off: the materialize commands run, every skip says why."""
    blocks = readme_blocks()
    assert any(DAGSTER_RUN.search(b.script) for b in blocks if b.mode == "run")
    assert all(b.reason for b in blocks if b.mode == "skip")
    assert "--select 'catalog/*'" not in README.read_text(encoding="utf-8")


# ---- The README -----------------------------------------------------------------------------------------------


def _block_params(modes: set[str]) -> list:
    return [
        pytest.param(b, id=b.id, marks=[pytest.mark.skip(reason=f"README: {b.reason}")] if b.mode == "skip" else [])
        for b in readme_blocks()
        if b.mode in modes
    ]


@pytest.mark.parametrize("block", _block_params({"run", "skip"}))
def test_readme_block_runs_as_written(block: Block, demo_copy: Path):
    """The block exits 0, and each `dagster asset materialize` / `dagster job execute` in it adds a successful run."""
    expected_runs = sum(1 for c in commands(block.script) if DAGSTER_RUN.search(c) and "--help" not in c.split())
    before = successful_runs(demo_copy / "dagster_home")
    script = (
        "set -eo pipefail\ntrap 'echo \"README command failed with exit $?: $BASH_COMMAND\" >&2' ERR\n" + block.script
    )
    result = bash(script, environment(demo_copy))
    failed = [line for line in result.stderr.splitlines() if line.startswith("README command failed")]
    assert result.returncode == 0, f"README line {block.line} ({block.section}): {failed}\n{tail(result)}"
    assert successful_runs(demo_copy / "dagster_home") - before >= expected_runs


def _help_probes() -> list[tuple[list[str], list[str]]]:
    return [probe for b in readme_blocks() if b.mode == "help" for c in commands(b.script) for probe in help_probes(c)]


def ask_help(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Exit code and output of `argv` (which ends in --help)."""
    script = PROJECT_SCRIPTS.get(argv[0])
    if script is None:
        result = bash(shlex.join(argv), env)
        return result.returncode, result.stdout + result.stderr
    result = CliRunner().invoke(script.load(), argv[1:], prog_name=argv[0])
    return result.exit_code, result.output


@pytest.mark.parametrize("argv, options", [pytest.param(*p, id="-".join(p[0][:-1])) for p in _help_probes()])
def test_readme_reference_command_exists_with_its_options(argv: list[str], options: list[str], tmp_path: Path):
    code, output = ask_help(argv, environment(tmp_path))
    assert code == 0, f"`{shlex.join(argv)}` failed:\n{output[-3000:]}"
    listed = set(OPTION.findall(output))
    assert not set(options) - listed, f"`{shlex.join(argv[:-1])}` has no {sorted(set(options) - listed)}"


def test_readme_reference_programs_are_the_venvs_scripts(tmp_path: Path):
    """What the shell runs for the project's scripts the help test asks in-process: the venv's, first on PATH."""
    programs = sorted({argv[0] for argv, _ in _help_probes()} & set(PROJECT_SCRIPTS))
    assert programs, "the README's reference names none of the project's console scripts"
    result = bash("\n".join(f"command -v {shlex.quote(name)}" for name in programs), environment(tmp_path))
    assert result.stdout.split() == [str(VENV_BIN / name) for name in programs], tail(result)
