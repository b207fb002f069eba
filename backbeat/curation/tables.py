"""Warehouse tables owned by the curation domain."""

from integrations.warehouse import Column, table

SNAPSHOTS = table(
    "curation",
    "playlist_snapshots",
    Column("snapshot_date", "date", "Day the snapshot is for (the partition).", nullable=False),
    Column("playlist_id", "text", "Logical playlist id, `{policy_id}-{n:03d}`.", nullable=False),
    Column("position", "bigint", "1-based position in the playlist.", nullable=False),
    Column("track_id", "text", "Catalog track."),
    Column("batch_tag", "text", "YYYY-MM-DD tag of the snapshot batch."),
    primary_key=("snapshot_date", "playlist_id", "position"),
    description="One row per track position of a playlist's daily snapshot (the history repeat gaps are "
    "checked against).",
)

SNAPSHOT_PLAYLISTS = table(
    "curation",
    "snapshot_playlists",
    Column("snapshot_date", "date", "Day the snapshot is for.", nullable=False),
    Column("playlist_id", "text", "Logical playlist id.", nullable=False),
    Column("policy_id", "text", "Policy the playlist follows."),
    Column("theme", "text", "Theme tag of the policy (in the Spotify playlist name)."),
    Column("global_index", "bigint", "Permanent number of the playlist (the #000 in its name)."),
    Column("target_size", "bigint", "K: tracks the policy asks for."),
    Column("tracks", "bigint", "Tracks in the snapshot (less than K only with a warning)."),
    Column("repeat_gap_days", "bigint", "R: days a track this playlist uses then rests, for every playlist."),
    Column("max_per_artist", "bigint", "Cap of tracks per artist."),
    Column("max_per_album", "bigint", "Cap of tracks per album."),
    Column("ordering", "text", "Ordering rule applied (energy_arc, tempo_ascending, ...)."),
    Column("pool_tracks", "bigint", "Tracks of the usable catalog passing the policy's filters."),
    Column("available_tracks", "bigint", "Of those, not resting after a recent use at the playlist's turn."),
    Column("adjacent_same_artist", "bigint", "Back-to-back tracks by one artist the ordering could not avoid."),
    Column("warning", "text", "Why the snapshot is short of K tracks; null when it is full."),
    Column("batch_tag", "text", "YYYY-MM-DD tag of the snapshot batch."),
    primary_key=("snapshot_date", "playlist_id"),
    description="One row per playlist and day: the rules its snapshot was built under, its size and any warning.",
)

PLANS = table(
    "curation",
    "playlist_plans",
    Column("plan_date", "date", "Day the plan is for.", nullable=False),
    Column("usable_tracks", "bigint", "T: tracks in the usable catalog (tracks left-joined with audio features)."),
    Column("matching_tracks", "bigint", "Usable tracks passing at least one policy's filters."),
    Column("p_star", "bigint", "Σ over policies of ceil(T_policy / (K · R)): what the catalog sustains."),
    Column("capacity", "bigint", "Σ max_playlists of the active accounts."),
    Column("floor", "bigint", "Σ min_playlists of the policies."),
    Column("planned", "bigint", "Logical playlists planned for the day."),
    Column("assigned", "bigint", "Of those, hosted by an account (the rest are exported as files only)."),
    Column("active_accounts", "bigint", "Active accounts."),
    Column("moves", "bigint", "Playlists that changed account since the previous plan."),
    Column("limited_by", "text", "catalog, capacity, floor or ceiling: what set the number of playlists."),
    Column("stats_json", "text", "Every figure of the plan, per policy included, as JSON."),
    Column("batch_tag", "text", "YYYY-MM-DD tag of the plan."),
    primary_key=("plan_date",),
    description="One row per day: how many playlists the catalog and the accounts allow, and why.",
)

ASSIGNMENTS = table(
    "curation",
    "playlist_assignments",
    Column("plan_date", "date", "Day of the plan.", nullable=False),
    Column("playlist_id", "text", "Logical playlist id.", nullable=False),
    Column("policy_id", "text", "Policy the playlist follows."),
    Column("theme", "text", "Theme tag."),
    Column("global_index", "bigint", "Permanent number of the playlist."),
    Column("account_id", "text", "Account hosting it that day; null when unassigned or retired."),
    Column("previous_account_id", "text", "Account in the previous plan; null for a new playlist."),
    Column("action", "text", "create, keep, move, unassigned or retire (retired playlists are not planned)."),
    Column("reason", "text", "Why it moved, is unassigned or retired."),
    primary_key=("plan_date", "playlist_id"),
    description="One row per playlist of a day's plan (and per playlist it retired): its account and the action.",
)

ACCOUNTS = table(
    "curation",
    "accounts",
    Column("account_id", "text", "Backbeat account id.", nullable=False),
    Column("spotify_user_id", "text", "Spotify user the playlists belong to."),
    Column("display_name", "text", "Name shown to people."),
    Column("max_playlists", "bigint", "Playlists the account may host."),
    Column("active", "boolean", "Whether playlists are assigned to it."),
    Column("development_mode", "boolean", "Its Spotify app is in development mode (playlist writes refused)."),
    Column("as_of", "date", "Plan day the registry was read for."),
    primary_key=("account_id",),
    description="One row per account in `inbox/curation/accounts.json`, as the latest plan read it (no tokens).",
)

ACCOUNT_TOKENS = table(
    "curation",
    "account_tokens",
    Column("account_id", "text", "Backbeat account id.", nullable=False),
    Column("status", "text", "ok, not_connected, refresh_failed or error."),
    Column("expires_at", "timestamp", "When the current access token expires (UTC)."),
    Column("refreshed_at", "timestamp", "When the access token was last refreshed (UTC)."),
    Column("checked_at", "timestamp", "When the refresh job last looked (UTC).", nullable=False),
    Column("error", "text", "Why the refresh failed (never a token)."),
    primary_key=("account_id",),
    description="One row per account: the state of its Spotify user token (tokens themselves are encrypted on disk).",
)

SYNC = table(
    "curation",
    "playlist_sync",
    Column("sync_date", "date", "Day of the snapshot synced.", nullable=False),
    Column("account_id", "text", "Account the playlist belongs to ('unassigned' when none had room).", nullable=False),
    Column("playlist_id", "text", "Logical playlist id.", nullable=False),
    Column("global_index", "bigint", "Permanent number of the playlist."),
    Column("playlist_name", "text", "Vibe • {ThemeTag} • #{GlobalIndex:000} • {YYYY-MM-DD}."),
    Column("spotify_playlist_id", "text", "Spotify playlist id; null when none was created."),
    Column("spotify_url", "text", "open.spotify.com URL of the playlist."),
    Column("status", "text", "synced, refused, failed, not_connected, not_configured or unassigned."),
    Column("action", "text", "created, updated or recreated (synced); exported otherwise."),
    Column("error", "text", "What went wrong (status and Spotify's message; never a token)."),
    Column("tracks_sent", "bigint", "Tracks written to the Spotify playlist."),
    Column("tracks_skipped", "bigint", "Snapshot tracks without a Spotify id (see curation.sync_skipped_tracks)."),
    Column("previous_playlist_id", "text", "Spotify id recorded for this account and playlist before this sync."),
    Column("export_m3u", "text", "File export (M3U) written because the sync did not happen; null otherwise."),
    Column("export_csv", "text", "File export (CSV with Spotify URIs) written beside it."),
    Column("requests", "bigint", "HTTP attempts made for this playlist (retries included)."),
    Column("synced_at", "timestamp", "When the sync finished (UTC)."),
    primary_key=("sync_date", "account_id", "playlist_id"),
    description="One row per account × playlist × day: what reached Spotify, or why not and where the file is.",
)

SYNC_SKIPS = table(
    "curation",
    "sync_skipped_tracks",
    Column("sync_date", "date", "Day of the snapshot.", nullable=False),
    Column("playlist_id", "text", "Logical playlist id.", nullable=False),
    Column("position", "bigint", "Position in the snapshot.", nullable=False),
    Column("track_id", "text", "Catalog track."),
    Column("isrc", "text", "Its ISRC (what a person can look it up by)."),
    Column("title", "text", "Its title."),
    Column("reason", "text", "Why it could not be sent to Spotify."),
    primary_key=("sync_date", "playlist_id", "position"),
    description="One row per snapshot track left out of a Spotify sync (no Spotify id): the file export still "
    "lists it.",
)

CURATION_TABLES = (SNAPSHOTS, SNAPSHOT_PLAYLISTS, PLANS, ASSIGNMENTS, ACCOUNTS, ACCOUNT_TOKENS, SYNC, SYNC_SKIPS)
