"""The scaling planner: how many logical playlists each policy runs, and which Spotify account hosts each.

**How many.** A policy with snapshot size K and repeat gap R uses K tracks a day, and each track at most once
every R days, so its usable tracks T sustain P* = ceil(T / (K · R)) playlists. Tracks that pass several
policies' filters are shared: each counts 1/m towards each of the m policies it passes (so the policies
together never count a track twice). Per policy, P* is raised to its floor (`min_playlists`) and lowered to its
ceiling (`max_playlists`); if the total exceeds the capacity (Σ `max_playlists` of the active accounts), the
capacity is shared out in proportion (largest remainder), never below the floors.

**Where.** Playlists go to accounts by weighted rendezvous hashing (a consistent hash: each playlist ranks the
accounts by hash(playlist, account), weighted by capacity) with bounded loads, starting from the previous plan:
a playlist stays on its account while that account is active and has room, unless its first choice is an
account that has just joined (that is how a new account gets its share: ~P/(N+1) playlists, all onto it).
So removing an account moves only its playlists, shrinking one moves only its overflow, adding one moves
only playlists onto it. Plain Python, no Dagster.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from backbeat.curation.policy import PlaylistPolicy
from backbeat.curation.selection import stable_hash

UNASSIGNED = "unassigned"
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ACCOUNT_FIELDS = {"account_id", "spotify_user_id", "max_playlists", "active", "development_mode", "display_name"}


class AccountsError(ValueError):
    """An accounts file that cannot be used; `problems` name file, account and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Account:
    """A Spotify account playlists are published to. Its refresh token lives in the encrypted token store."""

    account_id: str
    spotify_user_id: str
    max_playlists: int
    active: bool = True
    development_mode: bool = False  # its app is in development mode: Spotify refuses playlist writes
    display_name: str = ""


def load_accounts(path: Path) -> list[Account]:
    """Accounts from `accounts.json`: `{"accounts": [{account_id, spotify_user_id, max_playlists, active,
    development_mode?, display_name?}]}`. Refresh tokens are never in this file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AccountsError([f"{path}: cannot be read: {exc.strerror or exc}"]) from exc
    except json.JSONDecodeError as exc:
        raise AccountsError([f"{path}: cannot be read as JSON (line {exc.lineno}): {exc.msg}"]) from exc
    return parse_accounts(document, str(path))


def parse_accounts(document: Any, source: str) -> list[Account]:
    if not isinstance(document, Mapping) or not isinstance(document.get("accounts"), list):
        raise AccountsError([f"{source}: top level must be an object with an 'accounts' list"])
    problems: list[str] = []
    accounts: list[Account] = []
    seen: set[str] = set()
    for i, item in enumerate(document["accounts"]):
        where = f"{source}: accounts[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        account_id = item.get("account_id")
        if isinstance(account_id, str):
            where = f"{source}: account {account_id!r} at accounts[{i}]"
        before = len(problems)
        for name in sorted(set(item) - _ACCOUNT_FIELDS):
            hint = (
                " (refresh tokens belong in the token store: `backbeat curation account connect`)"
                if "token" in name
                else ""
            )
            problems.append(f"{where}: field {name!r} is not an account field{hint}")
        if not isinstance(account_id, str) or not _ACCOUNT_ID.match(account_id) or account_id == UNASSIGNED:
            problems.append(
                f"{where}: field 'account_id' must be 1-64 letters, digits, '-' or '_' "
                f"(not {UNASSIGNED!r}), got {account_id!r}"
            )
        elif account_id in seen:
            problems.append(f"{where}: field 'account_id' {account_id!r} appears twice")
        else:
            seen.add(account_id)
        user = item.get("spotify_user_id")
        if not isinstance(user, str) or not user.strip():
            problems.append(f"{where}: field 'spotify_user_id' is required, got {user!r}")
        cap = item.get("max_playlists")
        if not isinstance(cap, int) or isinstance(cap, bool) or not 0 <= cap <= 10_000:
            problems.append(f"{where}: field 'max_playlists' must be a whole number 0..10000, got {cap!r}")
        flags = {name: item.get(name, default) for name, default in (("active", True), ("development_mode", False))}
        for name, value in flags.items():
            if not isinstance(value, bool):
                problems.append(f"{where}: field {name!r} must be true or false, got {value!r}")
        display = item.get("display_name", "")
        if not isinstance(display, str):
            problems.append(f"{where}: field 'display_name' must be a text")
        if len(problems) == before:
            accounts.append(Account(account_id, user.strip(), cap, flags["active"], flags["development_mode"], display))
    if problems:
        raise AccountsError(problems)
    return accounts


def playlists_needed(usable_tracks: float, size: int, gap_days: int) -> int:
    """P* = ceil(T / (K · R)): playlists of K tracks a day that T tracks sustain under a repeat gap of R days."""
    if usable_tracks <= 0:
        return 0
    return math.ceil(round(usable_tracks / (size * gap_days), 9))


@dataclass(frozen=True)
class PolicyDemand:
    """One policy's numbers in a plan."""

    policy_id: str
    usable_tracks: int  # pass the policy's filters
    effective_tracks: float  # the same, shared tracks counted 1/m
    size: int
    gap_days: int
    p_star: int
    floor: int
    ceiling: int | None
    planned: int = 0


def plan_counts(
    policies: Sequence[PlaylistPolicy], pools: Mapping[str, np.ndarray], catalog_size: int, capacity: int
) -> list[PolicyDemand]:
    """Playlists per policy: P* from its (shared-out) usable tracks, clamped to floor and ceiling, then fitted to
    `capacity` in proportion — never below the floors (what the floors ask beyond capacity stays unassigned)."""
    matches = np.zeros(catalog_size, dtype=np.int64)
    for policy in policies:
        matches[pools[policy.policy_id]] += 1
    share = np.divide(1.0, matches, out=np.zeros(catalog_size), where=matches > 0)
    demands = []
    for policy in policies:
        pool = pools[policy.policy_id]
        effective = float(share[pool].sum())
        p_star = playlists_needed(effective, policy.size, policy.repeat_gap_days)
        demands.append(
            PolicyDemand(
                policy.policy_id,
                len(pool),
                round(effective, 3),
                policy.size,
                policy.repeat_gap_days,
                p_star,
                policy.min_playlists,
                policy.max_playlists,
            )
        )
    desired = [max(d.floor, min(d.p_star, d.ceiling if d.ceiling is not None else d.p_star)) for d in demands]
    floors = [d.floor for d in demands]
    if sum(desired) <= capacity:
        planned = desired
    else:
        budget = max(capacity, sum(floors))
        extra = [w - f for w, f in zip(desired, floors, strict=True)]
        planned = [f + n for f, n in zip(floors, _largest_remainder(extra, budget - sum(floors)), strict=True)]
    return [PolicyDemand(**{**d.__dict__, "planned": n}) for d, n in zip(demands, planned, strict=True)]


def _largest_remainder(weights: list[int], total: int) -> list[int]:
    """`total` split in proportion to `weights` (each ≤ its weight); ties go to the earlier entry."""
    whole = sum(weights)
    if whole <= 0 or total <= 0:
        return [0] * len(weights)
    total = min(total, whole)
    exact = [w * total / whole for w in weights]
    base = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - base[i]), i))
    for i in order[: total - sum(base)]:
        base[i] += 1
    return base


@dataclass(frozen=True)
class LogicalPlaylist:
    """A playlist Backbeat runs: `{policy_id}-{n:03d}`, with a global index that never changes once given."""

    playlist_id: str
    policy_id: str
    theme: str
    ordinal: int
    global_index: int


def number_playlists(
    policies: Sequence[PlaylistPolicy], demands: Sequence[PolicyDemand], known_indices: Mapping[str, int]
) -> list[LogicalPlaylist]:
    """The plan's playlists; each keeps the global index it was first given, new ones get the next free numbers
    (retired numbers are never reused, so a name never points at two playlists)."""
    planned = {d.policy_id: d.planned for d in demands}
    next_index = max(known_indices.values(), default=0) + 1
    playlists = []
    for policy in policies:
        for n in range(1, planned[policy.policy_id] + 1):
            playlist_id = f"{policy.policy_id}-{n:03d}"
            index = known_indices.get(playlist_id)
            if index is None:
                index, next_index = next_index, next_index + 1
            playlists.append(LogicalPlaylist(playlist_id, policy.policy_id, policy.theme, n, index))
    return playlists


def _score(playlist_id: str, account: Account) -> float:
    """Weighted rendezvous score: higher wins; the weight (capacity) makes big accounts win proportionally."""
    u = (stable_hash(f"{playlist_id}|{account.account_id}") + 0.5) / 2.0**64
    return -max(account.max_playlists, 1) / math.log(u)


@dataclass(frozen=True)
class PlanAction:
    playlist_id: str
    action: str  # create | keep | move | unassigned | retire
    from_account: str | None
    to_account: str | None
    reason: str


def assign(
    playlist_ids: Sequence[str], accounts: Sequence[Account], previous: Mapping[str, str | None]
) -> tuple[dict[str, str | None], list[PlanAction]]:
    """Each playlist's account (None when no active account has room) and the actions against `previous`."""
    live = [a for a in accounts if a.active and a.max_playlists > 0]
    by_id = {a.account_id: a for a in live}
    held = {a for a in previous.values() if a}
    new_accounts = {a.account_id for a in live if a.account_id not in held} if held else set()
    ranking = {
        p: [a.account_id for a in sorted(live, key=lambda a, p=p: (-_score(p, a), a.account_id))] for p in playlist_ids
    }
    load: Counter[str] = Counter()
    result: dict[str, str | None] = {}

    def fits(account_id: str) -> bool:
        return load[account_id] < by_id[account_id].max_playlists

    # 1. stay where you are (strongest claims first, so an account that shrank keeps its best-scored playlists)
    stayers = [p for p in playlist_ids if previous.get(p) in by_id]
    stayers.sort(key=lambda p: (-_score(p, by_id[previous[p]]), p))  # type: ignore[index]
    for p in stayers:
        current = previous[p]
        if ranking[p][0] in new_accounts and ranking[p][0] != current:
            continue  # its first choice just joined: it moves there if there is room (step 2)
        if fits(current):  # type: ignore[arg-type]
            result[p] = current
            load[current] += 1  # type: ignore[index]
    # 2. everyone else by preference: a new first choice, then the old account, then the ranking
    for p in sorted((p for p in playlist_ids if p not in result), key=lambda p: (stable_hash(f"place|{p}"), p)):
        current = previous.get(p)
        prefs = ranking[p]
        if current in by_id:
            head = [a for a in prefs[: prefs.index(current)] if a in new_accounts]  # type: ignore[arg-type]
            prefs = head + [current] + [a for a in prefs if a not in head and a != current]  # type: ignore[list-item]
        result[p] = next((a for a in prefs if fits(a)), None)
        if result[p] is not None:
            load[result[p]] += 1  # type: ignore[index]
    return result, _actions(playlist_ids, result, previous, by_id, new_accounts)


def _actions(
    playlist_ids: Sequence[str],
    result: Mapping[str, str | None],
    previous: Mapping[str, str | None],
    live: Mapping[str, Account],
    new_accounts: set[str],
) -> list[PlanAction]:
    actions = []
    for p in playlist_ids:
        now, before = result[p], previous.get(p)
        if p not in previous:
            actions.append(
                PlanAction(
                    p,
                    "create" if now else UNASSIGNED,
                    None,
                    now,
                    "new playlist" if now else "no active account has room",
                )
            )
        elif now is None:
            actions.append(PlanAction(p, UNASSIGNED, before, None, "no active account has room"))
        elif now == before:
            actions.append(PlanAction(p, "keep", before, now, ""))
        else:
            if before is None:
                why = "an account has room again"
            elif before not in live:
                why = f"account {before} is inactive or gone"
            elif now in new_accounts:
                why = f"rebalanced onto new account {now}"
            else:
                why = f"account {before} is over its capacity"
            actions.append(PlanAction(p, "move", before, now, why))
    planned = set(playlist_ids)
    for p in sorted(set(previous) - planned):
        actions.append(PlanAction(p, "retire", previous[p], None, "fewer playlists planned"))
    return actions


@dataclass
class Plan:
    """A day's plan: numbers per policy, the playlists, where each goes, and what changed."""

    day: date
    demands: list[PolicyDemand]
    playlists: list[LogicalPlaylist]
    assignment: dict[str, str | None]
    actions: list[PlanAction]
    stats: dict[str, Any] = field(default_factory=dict)


def make_plan(
    day: date,
    policies: Sequence[PlaylistPolicy],
    pools: Mapping[str, np.ndarray],
    catalog_size: int,
    accounts: Sequence[Account],
    previous: Mapping[str, str | None],
    known_indices: Mapping[str, int],
) -> Plan:
    """The plan for `day` from the usable catalog's pools, the accounts and the previous plan."""
    live = [a for a in accounts if a.active]
    capacity = sum(a.max_playlists for a in live)
    demands = plan_counts(policies, pools, catalog_size, capacity)
    playlists = number_playlists(policies, demands, known_indices)
    assignment, actions = assign([p.playlist_id for p in playlists], accounts, previous)
    matching = np.zeros(catalog_size, dtype=bool)
    for policy in policies:
        matching[pools[policy.policy_id]] = True
    kinds = Counter(a.action for a in actions)
    p_star = sum(d.p_star for d in demands)
    desired = sum(max(d.floor, min(d.p_star, d.ceiling if d.ceiling is not None else d.p_star)) for d in demands)
    if desired > capacity:
        limited_by = "floor" if sum(d.floor for d in demands) > capacity else "capacity"
    elif any(d.planned > d.p_star for d in demands):
        limited_by = "floor"
    elif desired < p_star:
        limited_by = "ceiling"
    else:
        limited_by = "catalog"
    stats = {
        "usable_tracks": catalog_size,
        "matching_tracks": int(matching.sum()),
        "p_star": p_star,
        "capacity": capacity,
        "floor": sum(d.floor for d in demands),
        "planned": len(playlists),
        "assigned": sum(1 for a in assignment.values() if a),
        "active_accounts": len(live),
        "accounts": len(accounts),
        "actions": dict(sorted(kinds.items())),
        "limited_by": limited_by,
        "policies": [d.__dict__ for d in demands],
    }
    return Plan(day, demands, playlists, assignment, actions, stats)
