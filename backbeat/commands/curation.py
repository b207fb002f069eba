"""`backbeat curation account connect|list|disconnect`: the Spotify accounts curation publishes playlists to.

Accounts are data (`$BACKBEAT_DATA_DIR/inbox/curation/accounts.json`); their refresh tokens never are. `connect`
reads a refresh token from an environment variable (so it never appears in a shell history or a process list)
and encrypts it into the token store with the Fernet key in `$BACKBEAT_SECRET_KEY`, under `$BACKBEAT_TOKEN_DIR`
(default `$BACKBEAT_DATA_DIR/secrets/spotify`). No command ever prints a token.

This is a module-level click group; `backbeat.cli` attaches it to the `backbeat` group.
"""

import os
from pathlib import Path

import click

from backbeat.curation.planner import Account, AccountsError, load_accounts
from backbeat.curation.store import ACCOUNTS_FILE
from backbeat.settings import Settings
from integrations.resilience import IntegrationError, SecretStoreError, TokenStore
from integrations.resilience.secrets import SECRET_KEY_ENV
from integrations.spotify.accounts import SpotifyAccountsResource, default_token_dir
from integrations.spotify.playlists import store_refresh_token, token_name
from integrations.spotify.resource import TOKEN_DIR_ENV


def _data_dir(ctx: click.Context) -> Path:
    return ctx.obj["data_dir"]


def _token_dir(data_dir: Path) -> Path:
    return Path(os.environ.get(TOKEN_DIR_ENV) or default_token_dir(data_dir))


def _store(data_dir: Path) -> TokenStore:
    key = os.environ.get(SECRET_KEY_ENV, "")
    if not key:
        raise click.ClickException(
            f"${SECRET_KEY_ENV} is not set: it holds the Fernet key tokens are encrypted "
            "with (generate one with `python -c 'from integrations.resilience import "
            "TokenStore; print(TokenStore.generate_key())'`)"
        )
    try:
        return TokenStore(_token_dir(data_dir), key)
    except SecretStoreError as exc:
        raise click.ClickException(str(exc)) from None


def _accounts(data_dir: Path) -> list[Account]:
    path = data_dir / "inbox" / "curation" / ACCOUNTS_FILE
    if not path.exists():
        raise click.ClickException(f"{path} does not exist: add the account there first")
    try:
        return load_accounts(path)
    except AccountsError as exc:
        raise click.ClickException(str(exc)) from None


def _account(data_dir: Path, account_id: str) -> Account:
    accounts = _accounts(data_dir)
    for account in accounts:
        if account.account_id == account_id:
            return account
    known = ", ".join(a.account_id for a in accounts) or "none"
    raise click.ClickException(f"no account {account_id!r} in {ACCOUNTS_FILE} (known: {known})")


@click.group()
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Defaults to BACKBEAT_DATA_DIR or data/."
)
@click.pass_context
def curation(ctx: click.Context, data_dir: Path | None) -> None:
    """Curation: the Spotify accounts daily playlists are published to."""
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir or Settings.from_env().data_dir


@curation.group()
def account() -> None:
    """Connect, list and disconnect Spotify accounts (tokens encrypted at rest)."""


@account.command("connect")
@click.argument("account_id")
@click.option(
    "--refresh-token-env",
    "env_var",
    required=True,
    metavar="VAR",
    help="Name of the environment variable holding the account's Spotify refresh token.",
)
@click.option(
    "--verify/--no-verify",
    default=False,
    show_default=True,
    help="Refresh the token once now and check that it belongs to the account's Spotify user "
    "(needs SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET).",
)
@click.pass_context
def connect(ctx: click.Context, account_id: str, env_var: str, verify: bool) -> None:
    """Encrypt ACCOUNT_ID's refresh token (read from $VAR) into the token store."""
    data_dir = _data_dir(ctx)
    chosen = _account(data_dir, account_id)
    refresh_token = os.environ.get(env_var, "").strip()
    if not refresh_token:
        raise click.ClickException(f"${env_var} is not set or empty")
    store = _store(data_dir)
    store_refresh_token(store, account_id, refresh_token)
    click.echo(f"stored an encrypted refresh token for {account_id} in {store.path(token_name(account_id))}")
    if verify:
        _verify(chosen, store)


def _verify(chosen: Account, store: TokenStore) -> None:
    client_id, secret = os.environ.get("SPOTIFY_CLIENT_ID", ""), os.environ.get("SPOTIFY_CLIENT_SECRET", "")
    if not (client_id and secret):
        raise click.ClickException("--verify needs $SPOTIFY_CLIENT_ID and $SPOTIFY_CLIENT_SECRET")
    optional = {
        k: os.environ[v]
        for k, v in (("api_url", "SPOTIFY_API_URL"), ("token_url", "SPOTIFY_TOKEN_URL"))
        if os.environ.get(v)
    }
    resource = SpotifyAccountsResource(
        client_id=client_id, client_secret=secret, token_dir=str(store.directory), **optional
    )
    client = resource.client(chosen.account_id, chosen.spotify_user_id, store=store)
    try:
        client.refresh_token()
        user = client.me()
    except IntegrationError as exc:
        raise click.ClickException(f"the token was stored, but Spotify refused it: {exc}") from None
    if user != chosen.spotify_user_id:
        raise click.ClickException(
            f"the token belongs to Spotify user {user!r}, but {ACCOUNTS_FILE} says {chosen.spotify_user_id!r}"
        )
    click.echo(f"verified: the token works for Spotify user {user}")


@account.command("list")
@click.pass_context
def list_accounts(ctx: click.Context) -> None:
    """Every account in accounts.json and whether a token is stored for it (never the token)."""
    data_dir = _data_dir(ctx)
    store = _store(data_dir)
    for item in _accounts(data_dir):
        try:
            token = store.load(token_name(item.account_id))
            state = "connected" if token and token.get("refresh_token") else "not connected"
        except SecretStoreError:
            state = f"token unreadable with this ${SECRET_KEY_ENV}"
        flags = [] if item.active else ["inactive"]
        flags += ["development-mode app"] if item.development_mode else []
        extra = f" ({', '.join(flags)})" if flags else ""
        click.echo(
            f"{item.account_id}: Spotify user {item.spotify_user_id}, up to {item.max_playlists} playlists, "
            f"{state}{extra}"
        )


@account.command("disconnect")
@click.argument("account_id")
@click.pass_context
def disconnect(ctx: click.Context, account_id: str) -> None:
    """Delete ACCOUNT_ID's stored token (its playlists are then exported as files until it is connected again)."""
    data_dir = _data_dir(ctx)
    store = _store(data_dir)
    store.delete(token_name(account_id))
    click.echo(f"removed the stored token of {account_id}")
