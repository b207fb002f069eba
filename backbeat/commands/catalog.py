"""`backbeat catalog add|status`: request albums for ingestion, and see how far the album queue got.

`add` validates each reference (a Spotify album URI, an open.spotify.com album link or a bare 22-character id)
and appends the new ones to `$BACKBEAT_DATA_DIR/inbox/catalog/album_requests/cli.txt`, one per line with the
time it was asked. The file is rewritten through a hidden temporary file and renamed into place, under a lock,
so the `catalog/album_queue` asset (and `album_queue_sensor`) sees the old file or the new one, never half.
Nothing is written when any reference is bad. Ingestion itself happens in Dagster (`catalog_ingest_job`).

This is a module-level click group; `backbeat.cli` attaches it to the `backbeat` group.
"""

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from backbeat.catalog.queue import AlbumRefError, parse_album_ref, read_request_file
from backbeat.commands.inbox import locked
from backbeat.progress import emit, json_option, track
from backbeat.settings import Settings

REQUEST_FILE = "cli.txt"


def _requests_dir(data_dir: Path) -> Path:
    return data_dir / "inbox" / "catalog" / "album_requests"


def append_requests(path: Path, album_ids: list[str], note: str) -> list[str]:
    """Append the album ids not already requested in `path` (as `spotify:album:ID  # note`), atomically, under
    the folder's lock; returns the ids that were added."""
    with locked(path.parent):
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
        already = {r.album_id for r in read_request_file(path, path.name)[0]} if existing else set()
        added = [i for i in dict.fromkeys(album_ids) if i not in already]
        if not added:
            return []
        if existing and not existing.endswith("\n"):
            existing += "\n"
        text = existing + "".join(f"spotify:album:{i}  # {note}\n" for i in added)
        temporary = path.with_name(f".{path.name}.part")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    return added


def _references(refs: tuple[str, ...], file: str | None) -> list[tuple[str, str]]:
    """(where, text) of every reference: the arguments, then the lines of `file` ('-' for stdin)."""
    found = [(f"argument {n}", r) for n, r in enumerate(refs, start=1)]
    if file:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8-sig")
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.split(" #", 1)[0].strip()
            if stripped and not stripped.startswith("#"):
                found.append((f"{file}:{number}", stripped))
    return found


@click.group()
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Defaults to BACKBEAT_DATA_DIR or data/."
)
@click.pass_context
def catalog(ctx: click.Context, data_dir: Path | None) -> None:
    """Albums requested for ingestion from Spotify (the album queue)."""
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir or Settings.from_env().data_dir


@catalog.command("add")
@click.argument("refs", nargs=-1)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read references from this file too, one per line ('-' for stdin); '#' starts a comment.",
)
@json_option
@click.pass_context
def add(ctx: click.Context, refs: tuple[str, ...], file: str | None, as_json: bool) -> None:
    """Queue albums: REFS are spotify:album:ID URIs, https://open.spotify.com/album/ID links or bare ids."""
    references = _references(refs, file)
    if not references:
        raise click.UsageError("give at least one album reference, or --file")
    ids, bad = [], []
    with track("checking references", len(references), unit="refs") as progress:
        for where, text in references:
            try:
                ids.append(parse_album_ref(text))
            except AlbumRefError as exc:
                bad.append(f"{where}: {exc}")
            progress.advance()
        if bad:
            raise click.ClickException("nothing queued; not Spotify album references:\n  " + "\n  ".join(bad))
        path = _requests_dir(ctx.obj["data_dir"]) / REQUEST_FILE
        stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
        added = append_requests(path, ids, f"added {stamp}")
        repeated = len(dict.fromkeys(ids)) - len(added)
        progress.summary.update(
            command="catalog add",
            references=len(references),
            requested=len(added),
            already_requested=repeated,
            file=str(path),
        )
    emit(
        progress.summary,
        f"{len(added)} albums requested in {path}" + (f" ({repeated} were already requested)" if repeated else ""),
        as_json,
    )


@catalog.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Albums per status in the album queue, and the latest failures."""
    from backbeat.catalog.queue import status_counts
    from backbeat.catalog.tables import ALBUM_QUEUE
    from integrations.warehouse import Warehouse

    settings = Settings.from_env({**os.environ, "BACKBEAT_DATA_DIR": str(ctx.obj["data_dir"])})
    queue = Warehouse(settings.warehouse_url).read(ALBUM_QUEUE)
    click.echo(", ".join(f"{n} {s}" for s, n in status_counts(queue).items()))
    failed = queue.filter(queue["status"] == "failed").sort("updated_at", descending=True).head(10)
    for album_id, reason in failed.select("album_id", "reason").iter_rows():
        click.echo(f"  failed {album_id}: {reason}")
