"""Run a `backbeat royalties ...` command from the demo, as a rights manager would type it.

The command's own output (a dispute or payout id, "pending → verified") is captured and returned instead of
printed, so the demo's log shows one line per thing done.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path


def royalties_command(data_dir: Path, *args: str) -> str:
    """Run `backbeat royalties --data-dir DATA_DIR ARGS...`; returns what it printed (stripped).

    A refused step raises the command's click exception, as it would stop a person at the prompt.
    """
    from backbeat.commands.royalties import royalties  # the CLI layer: imported when the demo acts

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        royalties.main(["--data-dir", str(data_dir), *args], standalone_mode=False)
    return out.getvalue().strip()
