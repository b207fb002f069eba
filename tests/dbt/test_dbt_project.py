"""dbt project: build every model and test against a small hand-made DuckDB warehouse, assert on mart values.

The warehouse holds the source schemas the Dagster assets write (catalog, airplay, rights, royalties, curation,
outreach) with a few rows chosen so every mart has a value worth checking: plays on a work with an approved
split (writer and publisher pools), a play first posted to suspense and then, once its split was approved,
reversed and re-posted to the parties (revision 2), a disputed play whose credits sit in hold, a payout, monthly
statements, review tasks with rule findings, a play not yet posted, two currencies; a golden recording resolved
from three sources and the audio features of a track; playlist snapshots, plans and a synced and a failed sync.
dbt runs in-process through dbtRunner with its target and log paths in a temporary directory.
"""

from __future__ import annotations

import json
import shutil
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def source_ddl() -> str:
    """The tables dbt reads exactly as the assets create them (backbeat.registry), so dbt and assets cannot drift."""
    from backbeat.registry import DBT_SOURCE_TABLES

    schemas = sorted({t.schema for t in DBT_SOURCE_TABLES})
    ordered: list = []  # a table after the tables its foreign keys reference
    pending = list(DBT_SOURCE_TABLES)
    while pending:
        ready = [
            t for t in pending if all(fk.references in ordered or fk.references not in pending for fk in t.foreign_keys)
        ]
        ordered += ready
        pending = [t for t in pending if t not in ready]
    # stamped at the code's schema revision, as a warehouse the code creates is (backbeat/migrations)
    from backbeat.migrations.revisions import REVISIONS
    from backbeat.migrations.state import _CREATE, VERSION_SCHEMA, VERSION_TABLE

    stamps = [
        f"insert into {VERSION_TABLE} (revision, description, how, applied_at) "
        f"values ('{r.id}', 'test source tables', 'stamped', timestamp '2026-12-05 00:00:00')"
        for r in REVISIONS
    ]
    statements = [*(f"create schema {s}" for s in schemas), *(t.create_sql() for t in ordered)]
    return ";\n".join([*statements, f"create schema {VERSION_SCHEMA}", _CREATE, *stamps]) + ";"


SOURCE_ROWS = """
insert into catalog.artists values
    ('A1', 'Nina Nova', 'FR', '2024-05-30 08:00:00'),
    ('A2', 'The Loops', 'GB', '2024-05-30 08:00:00');
insert into catalog.tracks values
    ('T1', 'FRX202400001', 'Night Drive', 'A1', 'Neon', '2024-03-01', 200000, 'electro', false, 61, 'W1',
     'audio/T1.flac', '2024-05-30 08:00:00'),
    ('T2', 'GBX202400002', 'Loop Song', 'A2', 'Loops', '2023-10-10', 150000, 'indie', true, 40, 'W2',
     null, '2024-05-30 08:00:00'),
    ('T3', 'GBX202400003', 'B-Side', 'A2', 'Loops', '2023-10-10', 90000, 'indie', false, 5, null,
     null, '2024-05-30 08:00:00'),
    ('T4', 'GBX202400004', 'Demo Tape', 'A2', null, null, 60000, 'indie', false, 1, null,
     null, '2024-05-30 08:00:00');
-- Only T1 has reference audio, so only T1 has audio features (half-time 61.5 BPM folded to 123 for electro).
insert into catalog.audio_features values
    ('T1', 'blake2b:5e1f0c', 61.5, 123.0, 'A minor', '8A', '1m', 0.875, 0.75, -8.5,
     'librosa 0.10: beat_track, chroma_cqt');
-- Entity resolution: T1 (file), its Spotify record and its MusicBrainz record are one recording: the ISRC
-- comes from the label's file, the title and artist from Spotify (the file says 'Night Drive (Original
-- Mix)'), release date and ISWC from MusicBrainz. A live version exists only at Spotify (no ISRC, not in the catalog).
insert into catalog.golden_recordings values
    ('g-FRX202400001', 'FRX202400001', 'file:T1', 'Night Drive', 'spotify:4uLU6hMCjMI75M1A2tKUQC', 'Nina Nova',
     'spotify:4uLU6hMCjMI75M1A2tKUQC', 'Neon', 'file:T1', 200000, 'file:T1', '2024-03-01',
     'musicbrainz:b1a9c0e2-7f3d-4c1a-9e5b-2d8f6a0c4e11', 'T-000.000.001-0',
     'musicbrainz:b1a9c0e2-7f3d-4c1a-9e5b-2d8f6a0c4e11', 3),
    ('g-GBX202400002', 'GBX202400002', 'file:T2', 'Loop Song', 'file:T2', 'The Loops', 'file:T2', 'Loops', 'file:T2',
     150000, 'file:T2', '2023-10-10', 'file:T2', null, null, 1),
    ('g-GBX202400003', 'GBX202400003', 'file:T3', 'B-Side', 'file:T3', 'The Loops', 'file:T3', 'Loops', 'file:T3',
     90000, 'file:T3', '2023-10-10', 'file:T3', null, null, 1),
    ('g-GBX202400004', 'GBX202400004', 'file:T4', 'Demo Tape', 'file:T4', 'The Loops', 'file:T4', null, null,
     60000, 'file:T4', null, null, null, null, 1),
    ('g-9c2f4e1a7b3d5f60', null, null, 'Night Drive (Live)', 'spotify:7dGJo4pcD2V6oG8kP0tJRR', 'Nina Nova',
     'spotify:7dGJo4pcD2V6oG8kP0tJRR', 'Neon Live', 'spotify:7dGJo4pcD2V6oG8kP0tJRR', 245000,
     'spotify:7dGJo4pcD2V6oG8kP0tJRR', '2024-05-10', 'spotify:7dGJo4pcD2V6oG8kP0tJRR', null, null, 1);
insert into catalog.recording_links values
    ('file', 'T1', 'g-FRX202400001', 'isrc', 100.0),
    ('file', 'T2', 'g-GBX202400002', 'self', 100.0),
    ('file', 'T3', 'g-GBX202400003', 'self', 100.0),
    ('file', 'T4', 'g-GBX202400004', 'self', 100.0),
    ('musicbrainz', 'b1a9c0e2-7f3d-4c1a-9e5b-2d8f6a0c4e11', 'g-FRX202400001', 'isrc', 100.0),
    ('spotify', '4uLU6hMCjMI75M1A2tKUQC', 'g-FRX202400001', 'isrc', 100.0),
    ('spotify', '7dGJo4pcD2V6oG8kP0tJRR', 'g-9c2f4e1a7b3d5f60', 'self', 100.0);
insert into airplay.stations values
    ('S1', 'Radio Un', 'http://radio-un.example/stream', true, 'Europe/Paris'),
    ('S2', 'Beat FM', 'http://beat.example/live', false, 'America/New_York');
insert into airplay.playlogs (play_id, station_id, track_id, play_date, start_utc, end_utc, duration_s,
    confidence, detection_count, speed, runner_up_track_id, runner_up_confidence) values
    ('PL1', 'S1', 'T1', '2024-06-01', '2024-06-01 10:00:00', '2024-06-01 10:03:00', 180, 0.97, 12, 1.0, null, null),
    ('PL2', 'S1', 'T1', '2024-06-01', '2024-06-01 15:00:00', '2024-06-01 15:03:20', 200, 0.91, 14, 1.02, 'T2', 0.6),
    ('PL3', 'S1', 'T2', '2024-06-01', '2024-06-01 16:00:00', '2024-06-01 16:02:00', 120, 0.88, 8, 1.0, null, null),
    ('PL4', 'S2', 'T1', '2024-06-02', '2024-06-02 01:00:00', '2024-06-02 01:01:40', 100, 0.95, 7, 0.97, null, null),
    ('PL5', 'S1', 'T1', '2024-06-02', '2024-06-02 09:00:00', '2024-06-02 09:01:00', 60, 0.80, 4, 1.0, null, null),
    ('PL6', 'S1', 'T3', '2024-06-03', '2024-06-03 08:00:00', '2024-06-03 08:01:30', 90, 0.90, 6, 1.0, null, null);
insert into rights.works values
    ('W1', 'T-000.000.001-0', 'Night Drive', 'works_2024.csv'),
    ('W2', 'T-000.000.002-1', 'Loop Song', 'works_2024.csv');
insert into rights.recordings values
    ('T1', 'FRX202400001', 'W1', 'Night Drive'),
    ('T2', 'GBX202400002', 'W2', 'Loop Song'),
    ('T3', 'GBX202400003', null, 'B-Side');
insert into rights.parties values
    ('P1', 'Ada Writer', '00012345678', 'person', 'parties.csv'),
    ('P2', 'Pub Co', null, 'company', 'parties.csv'),
    ('P3', 'Lou Loop', null, 'person', 'loop_song.pdf'),
    ('P4', 'Idle Party', null, null, 'parties.csv');
-- Approved split sets. W1: clean, approved by the rules. W2: a reviewer approved it on 2024-06-05, after
-- its 2024-06-01 play had been posted to suspense. T3 (a recording): from July on, no plays yet.
-- Within a set each role group (pool) sums to 10000 bp; a play's money is divided between the pools.
insert into rights.splits values
    ('SS-W1', 'work', 'W1', 'P1', 'composer', 'writer', 10000, '2024-01-01', null, 'splits_2024.csv', 2, 'rules'),
    ('SS-W1', 'work', 'W1', 'P2', 'publisher', 'publisher', 10000, '2024-01-01', null, 'splits_2024.csv', 3, 'rules'),
    ('SS-W2', 'work', 'W2', 'P3', 'composer', 'writer', 6000, null, null, 'loop_song.pdf', 2, 'maria'),
    ('SS-W2', 'work', 'W2', 'P1', 'lyricist', 'writer', 4000, null, null, 'loop_song.pdf', 3, 'maria'),
    ('SS-W2', 'work', 'W2', 'P2', 'publisher', 'publisher', 10000, null, null, 'loop_song.pdf', 4, 'maria'),
    ('SS-T3', 'recording', 'T3', 'P3', 'artist', 'performer', 10000, '2024-07-01', null, 'b_side.csv', 2, 'rules');
insert into rights.validation_issues values
    ('SS-W2', 'RS004', 'warning', 'Share read with low OCR confidence (61)', 'loop_song.pdf', 3, 'share_text', '40',
     'work', 'W2', 'P1'),
    ('SS-W1b', 'RS001', 'error', 'Writer shares sum to 90.00 %', 'night_drive_v2.csv', null, '', '9000',
     'work', 'W1', null),
    ('SS-W1b', 'RS002', 'error', 'Unknown party PX', 'night_drive_v2.csv', 4, 'party_id', 'PX', 'work', 'W1', 'PX'),
    ('SS-W1b', 'RS010', 'info', 'Share written with a decimal comma', 'night_drive_v2.csv', 2, 'share_text', '60,00',
     'work', 'W1', 'P1'),
    ('SS-T1', 'RS007', 'warning', 'Performer without an IPI', 't1_performers.xlsx', 2, 'ipi', '', 'recording', 'T1',
     'P4'),
    ('SS-T1', 'RS007', 'warning', 'Performer without an IPI', 't1_performers.xlsx', 3, 'ipi', '', 'recording', 'T1',
     'P3');
insert into rights.review_tasks values
    ('SS-W2', 'work', 'W2', 'approved', 'RS004', 'loop_song.pdf', 'maria', '2024-06-05 09:00:00',
     'Share checked against the signed sheet.'),
    ('SS-W1b', 'work', 'W1', 'blocked', 'RS001,RS002,RS010', 'night_drive_v2.csv', null, null, null),
    ('SS-T1', 'recording', 'T1', 'open', 'RS007', 't1_performers.xlsx', null, null, null);
insert into royalties.tariffs values
    ('TF1', 'S1', 'EUR', 0.040000, '2024-01-01', '2024-06-01'),
    ('TF2', 'S1', 'EUR', 0.050000, '2024-06-01', null),
    ('TF3', 'S2', 'USD', 0.033300, '2024-01-01', null);
-- S1|2024-06-01|TF2|r1 (EUR): PL1 and PL2 split 50/50 between W1's writer P1 and publisher P2; PL3's work W2
--   has no approved split yet -> suspense.
-- ...|r1|reversal: W2's split approved on 2024-06-05: r1 negated line by line (suspense released) ...
-- ...|r2: ... and re-posted: PL3's writer pool 300 -> P3 180 + P1 120, publisher pool 300 -> P2.
-- S1|2024-06-02|TF2|r1 (EUR): PL5 is disputed (D1, open): its credits sit in hold.
-- S2|2024-06-02|TF3|r1 (USD): PL4, rounding 166.5 -> 167 / 166. PL6 is not posted yet.
-- payout|PO1: P1 is paid 1000 EUR on 2024-07-02 (July statement).
insert into royalties.ledger_batches (batch_id, batch_kind, station_id, posted_for, accounting_period, tariff_id,
    revision, basis_hash, reverses_batch_id, reason, lines, debit_minor, currency, posted_at) values
    ('S1|2024-06-01|TF2|r1', 'posting', 'S1', '2024-06-01', '2024-06', 'TF2', 1, 'h1', null, 'first posting', 8, 2500,
     'EUR', '2024-06-02 02:00:00'),
    ('S1|2024-06-01|TF2|r1|reversal', 'reversal', 'S1', '2024-06-01', '2024-06', 'TF2', 1, 'h1r',
     'S1|2024-06-01|TF2|r1', 'split approved', 8, 2500, 'EUR', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 'posting', 'S1', '2024-06-01', '2024-06', 'TF2', 2, 'h2', null, 'split approved', 10,
     2500, 'EUR', '2024-06-05 10:00:00'),
    ('S1|2024-06-02|TF2|r1', 'posting', 'S1', '2024-06-02', '2024-06', 'TF2', 1, 'h3', null, 'first posting', 3, 300,
     'EUR', '2024-06-03 02:00:00'),
    ('S2|2024-06-02|TF3|r1', 'posting', 'S2', '2024-06-02', '2024-06', 'TF3', 1, 'h4', null, 'first posting', 3, 333,
     'USD', '2024-06-03 02:00:00'),
    ('payout|PO1', 'payout', null, '2024-07-02', '2024-07', null, 1, null, null, 'payout PO1 approved by finance', 2,
     1000, 'EUR', '2024-07-02 12:00:00');
insert into royalties.royalty_ledger values
    ('S1|2024-06-01|TF2|r1', 1, 'posting', '2024-06-01', '2024-06', 'S1', 'PL1', 'T1', 'station_receivable', null,
     900, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('S1|2024-06-01|TF2|r1', 2, 'posting', '2024-06-01', '2024-06', 'S1', 'PL1', 'T1', 'party_payable', 'P1', -450,
     'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('S1|2024-06-01|TF2|r1', 3, 'posting', '2024-06-01', '2024-06', 'S1', 'PL1', 'T1', 'party_payable', 'P2', -450,
     'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('S1|2024-06-01|TF2|r1', 4, 'posting', '2024-06-01', '2024-06', 'S1', 'PL2', 'T1', 'station_receivable', null,
     1000, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('S1|2024-06-01|TF2|r1', 5, 'posting', '2024-06-01', '2024-06', 'S1', 'PL2', 'T1', 'party_payable', 'P1', -500,
     'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('S1|2024-06-01|TF2|r1', 6, 'posting', '2024-06-01', '2024-06', 'S1', 'PL2', 'T1', 'party_payable', 'P2', -500,
     'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('S1|2024-06-01|TF2|r1', 7, 'posting', '2024-06-01', '2024-06', 'S1', 'PL3', 'T2', 'station_receivable', null,
     600, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('S1|2024-06-01|TF2|r1', 8, 'posting', '2024-06-01', '2024-06', 'S1', 'PL3', 'T2', 'suspense', null, -600, 'EUR',
     'TF2', '2024-06-02 02:00:00'),
    ('S1|2024-06-01|TF2|r1|reversal', 1, 'reversal', '2024-06-01', '2024-06', 'S1', 'PL1', 'T1', 'station_receivable',
     null, -900, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r1|reversal', 2, 'reversal', '2024-06-01', '2024-06', 'S1', 'PL1', 'T1', 'party_payable',
     'P1', 450, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r1|reversal', 3, 'reversal', '2024-06-01', '2024-06', 'S1', 'PL1', 'T1', 'party_payable',
     'P2', 450, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r1|reversal', 4, 'reversal', '2024-06-01', '2024-06', 'S1', 'PL2', 'T1', 'station_receivable',
     null, -1000, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r1|reversal', 5, 'reversal', '2024-06-01', '2024-06', 'S1', 'PL2', 'T1', 'party_payable',
     'P1', 500, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r1|reversal', 6, 'reversal', '2024-06-01', '2024-06', 'S1', 'PL2', 'T1', 'party_payable',
     'P2', 500, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r1|reversal', 7, 'reversal', '2024-06-01', '2024-06', 'S1', 'PL3', 'T2', 'station_receivable',
     null, -600, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r1|reversal', 8, 'reversal', '2024-06-01', '2024-06', 'S1', 'PL3', 'T2', 'suspense', null,
     600, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 1, 'posting', '2024-06-01', '2024-06', 'S1', 'PL1', 'T1', 'station_receivable', null,
     900, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 2, 'posting', '2024-06-01', '2024-06', 'S1', 'PL1', 'T1', 'party_payable', 'P1', -450,
     'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 3, 'posting', '2024-06-01', '2024-06', 'S1', 'PL1', 'T1', 'party_payable', 'P2', -450,
     'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 4, 'posting', '2024-06-01', '2024-06', 'S1', 'PL2', 'T1', 'station_receivable', null,
     1000, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 5, 'posting', '2024-06-01', '2024-06', 'S1', 'PL2', 'T1', 'party_payable', 'P1', -500,
     'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 6, 'posting', '2024-06-01', '2024-06', 'S1', 'PL2', 'T1', 'party_payable', 'P2', -500,
     'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 7, 'posting', '2024-06-01', '2024-06', 'S1', 'PL3', 'T2', 'station_receivable', null,
     600, 'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 8, 'posting', '2024-06-01', '2024-06', 'S1', 'PL3', 'T2', 'party_payable', 'P1', -120,
     'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 9, 'posting', '2024-06-01', '2024-06', 'S1', 'PL3', 'T2', 'party_payable', 'P2', -300,
     'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-01|TF2|r2', 10, 'posting', '2024-06-01', '2024-06', 'S1', 'PL3', 'T2', 'party_payable', 'P3', -180,
     'EUR', 'TF2', '2024-06-05 10:00:00'),
    ('S1|2024-06-02|TF2|r1', 1, 'posting', '2024-06-02', '2024-06', 'S1', 'PL5', 'T1', 'station_receivable', null,
     300, 'EUR', 'TF2', '2024-06-03 02:00:00'),
    ('S1|2024-06-02|TF2|r1', 2, 'posting', '2024-06-02', '2024-06', 'S1', 'PL5', 'T1', 'hold', 'P1', -150, 'EUR',
     'TF2', '2024-06-03 02:00:00'),
    ('S1|2024-06-02|TF2|r1', 3, 'posting', '2024-06-02', '2024-06', 'S1', 'PL5', 'T1', 'hold', 'P2', -150, 'EUR',
     'TF2', '2024-06-03 02:00:00'),
    ('S2|2024-06-02|TF3|r1', 1, 'posting', '2024-06-02', '2024-06', 'S2', 'PL4', 'T1', 'station_receivable', null,
     333, 'USD', 'TF3', '2024-06-03 02:00:00'),
    ('S2|2024-06-02|TF3|r1', 2, 'posting', '2024-06-02', '2024-06', 'S2', 'PL4', 'T1', 'party_payable', 'P1', -167,
     'USD', 'TF3', '2024-06-03 02:00:00'),
    ('S2|2024-06-02|TF3|r1', 3, 'posting', '2024-06-02', '2024-06', 'S2', 'PL4', 'T1', 'party_payable', 'P2', -166,
     'USD', 'TF3', '2024-06-03 02:00:00'),
    ('payout|PO1', 1, 'payout', '2024-07-02', '2024-07', null, null, null, 'party_payable', 'P1', 1000, 'EUR', null,
     '2024-07-02 12:00:00'),
    ('payout|PO1', 2, 'payout', '2024-07-02', '2024-07', null, null, null, 'cash', null, -1000, 'EUR', null,
     '2024-07-02 12:00:00');
insert into royalties.disputes values
    ('D1', 'PL5', 'S1', '2024-06-02', 'artist', '2024-06-02 12:00:00', 'verified', null, '2024-06-04 09:00:00'),
    ('D2', 'PL1', 'S1', '2024-06-01', 'station', '2024-06-01 12:00:00', 'resolved', 'rejected', '2024-06-02 01:00:00');
-- Statements: closing = opening + earnings + adjustments + payouts = the party_payable balance up to the period.
-- Detail: earnings = r1 postings; adjustments = reversals + later revisions (T1's net 0, T2's re-posting).
insert into royalties.party_statements (period, party_id, currency, opening_minor, earnings_minor,
    adjustments_minor, payouts_minor, closing_minor, held_minor) values
    ('2024-06', 'P1', 'EUR', 0, 950, 120, 0, 1070, 150),
    ('2024-07', 'P1', 'EUR', 1070, 0, 0, -1000, 70, 150),
    ('2024-06', 'P1', 'USD', 0, 167, 0, 0, 167, 0),
    ('2024-06', 'P2', 'EUR', 0, 950, 300, 0, 1250, 150),
    ('2024-06', 'P2', 'USD', 0, 166, 0, 0, 166, 0),
    ('2024-06', 'P3', 'EUR', 0, 0, 180, 0, 180, 0);
insert into royalties.statement_lines (period, party_id, currency, line_type, recording_id, station_id, plays,
    amount_minor) values
    ('2024-06', 'P1', 'EUR', 'earnings', 'T1', 'S1', 2, 950),
    ('2024-06', 'P1', 'EUR', 'adjustment', 'T1', 'S1', 2, 0),
    ('2024-06', 'P1', 'EUR', 'adjustment', 'T2', 'S1', 1, 120),
    ('2024-07', 'P1', 'EUR', 'payout', null, null, 0, -1000),
    ('2024-06', 'P1', 'USD', 'earnings', 'T1', 'S2', 1, 167),
    ('2024-06', 'P2', 'EUR', 'earnings', 'T1', 'S1', 2, 950),
    ('2024-06', 'P2', 'EUR', 'adjustment', 'T1', 'S1', 2, 0),
    ('2024-06', 'P2', 'EUR', 'adjustment', 'T2', 'S1', 1, 300),
    ('2024-06', 'P2', 'USD', 'earnings', 'T1', 'S2', 1, 166),
    ('2024-06', 'P3', 'EUR', 'adjustment', 'T2', 'S1', 1, 180);
insert into royalties.payouts values
    ('PO1', 'P1', 'EUR', 1000, '2024-07-01', 'paid', 'finance', 'June statement', '2024-07-02', 'payout|PO1'),
    ('PO2', 'P3', 'EUR', 180, '2024-07-01', 'rejected', 'finance', 'below the minimum payout', null, null);
-- 2024-06-01: focus-flow-001 is full and synced to label-main (TX has no Spotify id: skipped); the catalog
-- leaves late-night-001 empty (every matching track is resting) and its sync on label-two failed (files written).
-- 2024-06-02: label-two was removed, capacity fell below the floor: planned but not yet snapshotted.
insert into curation.playlist_snapshots values
    ('2024-06-01', 'focus-flow-001', 1, 'T1', '2024-06-01'),
    ('2024-06-01', 'focus-flow-001', 2, 'TX', '2024-06-01');
insert into curation.snapshot_playlists values
    ('2024-06-01', 'focus-flow-001', 'focus-flow', 'FocusFlow', 1, 2, 2, 7, 1, 1, 'energy_arc', 3, 2, 0, null,
     '2024-06-01'),
    ('2024-06-01', 'late-night-001', 'late-night', 'LateNight', 2, 2, 0, 14, 1, 1, 'tempo_ascending', 1, 0, 0,
     'late-night-001 on 2024-06-01: only 0 of 2 tracks: 1 passes the filters, 1 of them is still resting',
     '2024-06-01');
insert into curation.playlist_plans values
    ('2024-06-01', 4, 3, 2, 5, 2, 2, 2, 2, 0, 'catalog',
     '{"policies": {"focus-flow": {"tracks": 3, "p_star": 1}, "late-night": {"tracks": 1, "p_star": 1}}}',
     '2024-06-01'),
    ('2024-06-02', 4, 3, 2, 1, 2, 2, 1, 1, 1, 'floor',
     '{"policies": {"focus-flow": {"tracks": 3, "p_star": 1}, "late-night": {"tracks": 1, "p_star": 1}}}',
     '2024-06-02');
insert into curation.playlist_sync values
    ('2024-06-01', 'label-main', 'focus-flow-001', 1, 'Vibe • FocusFlow • #001 • 2024-06-01',
     '37i9dQZF1DX0XUsuxWHRQd', 'https://open.spotify.com/playlist/37i9dQZF1DX0XUsuxWHRQd', 'synced', 'created', null,
     1, 1, null, null, null, 3, '2024-06-01 04:10:05'),
    ('2024-06-01', 'label-two', 'late-night-001', 2, 'Vibe • LateNight • #002 • 2024-06-01', null, null, 'failed',
     'exported', '503 Service Unavailable: retries exhausted after 4 attempts', 0, 0, null,
     'data/exports/curation/2024-06-01/002-late-night-001.m3u',
     'data/exports/curation/2024-06-01/002-late-night-001.csv', 4, '2024-06-01 04:10:09');
insert into outreach.contacts values
    ('C1', ' Ada@Example.com ', 'Ada', 'Pub Co', 'FR', true, 'contacts.csv', 1);
"""

MART_TABLES = {
    "fct_leaderboard_tracks",
    "fct_leaderboard_artists",
    "fct_leaderboard_stations",
    "fct_leaderboard_programs",
    "fct_payouts",
    "fct_party_royalties_monthly",
    "dim_tracks",
    "dim_parties",
    "dim_stations",
    "fct_plays",
    "fct_daily_airplay",
    "fct_program_airplay",
    "fct_ledger_lines",
    "fct_ledger_batches",
    "fct_party_royalties_daily",
    "fct_party_statements",
    "fct_disputes",
    "fct_split_review_queue",
    "fct_playlist_snapshots",
    "fct_playlist_sync",
    "fct_playlist_plans",
    "dim_golden_recordings",
}

R1, REVERSAL, R2 = "S1|2024-06-01|TF2|r1", "S1|2024-06-01|TF2|r1|reversal", "S1|2024-06-01|TF2|r2"
HELD, USD, PAYOUT = "S1|2024-06-02|TF2|r1", "S2|2024-06-02|TF3|r1", "payout|PO1"


def make_warehouse(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(source_ddl())
        con.execute(SOURCE_ROWS)


def run_dbt(args: list[str], target_path: Path) -> dbtRunnerResult:
    return dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(target_path),
            "--log-path",
            str(target_path / "logs"),
        ]
    )


def failed_nodes(result: dbtRunnerResult) -> list[str]:
    return [
        f"{r.node.name}: {r.status} {r.message or ''}"
        for r in (result.result or [])
        if str(r.status) in ("error", "fail")
    ]


def query(path: Path, sql: str) -> list[tuple]:
    # dbt-duckdb keeps its database instance open in this process; a connection with the same (default)
    # configuration shares it, a read_only one would be refused.
    with duckdb.connect(str(path)) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """Build the project once against a fresh warehouse; yields (warehouse path, dbt target dir, build result)."""
    tmp = tmp_path_factory.mktemp("dbt")
    warehouse = tmp / "warehouse.duckdb"
    make_warehouse(warehouse)
    target = tmp / "target"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "duckdb")
        mp.setenv("BACKBEAT_DUCKDB_PATH", str(warehouse))
        result = run_dbt(["build"], target)
        assert result.success, failed_nodes(result) or result.exception
        docs = run_dbt(["docs", "generate"], target)
        assert docs.success, docs.exception
    yield warehouse, target, result


def test_build_runs_models_and_tests(built):
    _, _, result = built
    statuses = {r.node.name: str(r.status) for r in result.result}
    assert statuses.keys() >= MART_TABLES
    assert all(statuses[m] == "success" for m in MART_TABLES)
    # data tests ran too (unique/not_null/relationships/sums_to_zero...), and none failed
    n_tests = sum(1 for r in result.result if r.node.resource_type == "test")
    assert n_tests >= 240
    assert not failed_nodes(result)
    # the warn-level relationships (tracks -> works, ledger -> plays) hold on this data too
    assert not [r for r in result.result if str(r.status) == "warn"]


def test_all_models_land_in_analytics_as_declared(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        "select table_name, table_type from information_schema.tables where table_schema = 'analytics'",
    )
    kinds = dict(rows)
    for mart in MART_TABLES:
        assert kinds[mart] == "BASE TABLE", mart
    assert kinds["stg_airplay__plays"] == "VIEW"
    assert kinds["int_plays_enriched"] == "VIEW"


def test_party_royalties_daily_are_net_of_reversals(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select party_id, party_name, currency, posted_for, amount_minor, play_count, line_count
           from analytics.fct_party_royalties_daily order by posted_for, currency, party_id""",
    )
    assert rows == [
        # PL1 + PL2 + PL3 (r1, its reversal and r2 net to r2); the released suspense leaves no SUSPENSE row
        ("P1", "Ada Writer", "EUR", date(2024, 6, 1), 450 + 500 + 120, 3, 7),
        ("P2", "Pub Co", "EUR", date(2024, 6, 1), 450 + 500 + 300, 3, 7),
        ("P3", "Lou Loop", "EUR", date(2024, 6, 1), 180, 1, 1),
        ("HOLD", "Hold (disputed plays)", "EUR", date(2024, 6, 2), 300, 1, 2),
        ("P1", "Ada Writer", "USD", date(2024, 6, 2), 167, 1, 1),
        ("P2", "Pub Co", "USD", date(2024, 6, 2), 166, 1, 1),
    ]
    # the payout is not an earning, and what parties earned matches what their statements say they earned
    assert query(
        warehouse,
        """select party_id, currency, cast(sum(amount_minor) as bigint) from analytics.fct_party_royalties_daily
           where party_id like 'P%' group by party_id, currency order by party_id, currency""",
    ) == query(
        warehouse,
        """select party_id, currency, cast(sum(earnings_minor + adjustments_minor) as bigint)
           from analytics.fct_party_statements group by party_id, currency order by party_id, currency""",
    )


def test_ledger_batches_balance(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select batch_id, currency, batch_kind, revision, reverses_batch_id, reason, line_count, play_count,
                  debit_minor, credit_minor, balance_minor, suspense_minor, hold_minor, posted_for_from
           from analytics.fct_ledger_batches order by batch_id""",
    )
    assert rows == [
        (R1, "EUR", "posting", 1, None, "first posting", 8, 3, 2500, 2500, 0, 600, 0, date(2024, 6, 1)),
        (REVERSAL, "EUR", "reversal", 1, R1, "split approved", 8, 3, 2500, 2500, 0, -600, 0, date(2024, 6, 1)),
        (R2, "EUR", "posting", 2, None, "split approved", 10, 3, 2500, 2500, 0, 0, 0, date(2024, 6, 1)),
        (HELD, "EUR", "posting", 1, None, "first posting", 3, 1, 300, 300, 0, 0, 300, date(2024, 6, 2)),
        (USD, "USD", "posting", 1, None, "first posting", 3, 1, 333, 333, 0, 0, 0, date(2024, 6, 2)),
        (
            PAYOUT,
            "EUR",
            "payout",
            1,
            None,
            "payout PO1 approved by finance",
            2,
            0,
            1000,
            1000,
            0,
            0,
            0,
            date(2024, 7, 2),
        ),
    ]


def test_ledger_lines_have_names_kinds_and_debit_credit(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select ledger_line_id, entry_kind, batch_reason, accounting_period, account, recording_id, station_name,
                  party_name, amount_minor, debit_minor, credit_minor
           from analytics.fct_ledger_lines
           where (batch_id = ? and line_no in (1, 2, 8)) or (batch_id = ? and line_no = 8) or batch_id = ?
           order by batch_id, line_no""".replace("?", "'{}'").format(R1, REVERSAL, PAYOUT),
    )
    paid = "payout PO1 approved by finance"
    assert rows == [
        (f"{R1}|1", "posting", "first posting", "2024-06", "station_receivable", "T1", "Radio Un", None, 900, 900, 0),
        (
            f"{R1}|2",
            "posting",
            "first posting",
            "2024-06",
            "party_payable",
            "T1",
            "Radio Un",
            "Ada Writer",
            -450,
            0,
            450,
        ),
        (f"{R1}|8", "posting", "first posting", "2024-06", "suspense", "T2", "Radio Un", None, -600, 0, 600),
        (f"{REVERSAL}|8", "reversal", "split approved", "2024-06", "suspense", "T2", "Radio Un", None, 600, 600, 0),
        (f"{PAYOUT}|1", "payout", paid, "2024-07", "party_payable", None, None, "Ada Writer", 1000, 1000, 0),
        (f"{PAYOUT}|2", "payout", paid, "2024-07", "cash", None, None, None, -1000, 0, 1000),
    ]
    assert query(warehouse, "select count(*), sum(amount_minor) from analytics.fct_ledger_lines") == [(34, 0)]


def test_ledger_nets_each_play_over_its_revisions(built):
    """PL3: suspense 600 in r1, released by the reversal, re-posted to its parties in r2."""
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select play_id, currency, receivable_minor, party_payable_minor, suspense_minor, hold_minor,
                  is_in_suspense, is_on_hold, batch_count, line_count
           from analytics.int_ledger_lines_aggregated_to_plays order by play_id""",
    )
    assert rows == [
        ("PL1", "EUR", 900, 900, 0, 0, False, False, 3, 9),
        ("PL2", "EUR", 1000, 1000, 0, 0, False, False, 3, 9),
        ("PL3", "EUR", 600, 600, 0, 0, False, False, 3, 8),
        ("PL4", "USD", 333, 333, 0, 0, False, False, 1, 3),
        ("PL5", "EUR", 300, 0, 0, 300, False, True, 1, 3),
    ]


def test_daily_airplay(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select daily_airplay_id, station_name, track_title, artist_name, play_count, airplay_seconds
           from analytics.fct_daily_airplay order by play_date, station_id, track_id""",
    )
    assert rows == [
        ("S1|T1|2024-06-01", "Radio Un", "Night Drive", "Nina Nova", 2, 380),
        ("S1|T2|2024-06-01", "Radio Un", "Loop Song", "The Loops", 1, 120),
        ("S1|T1|2024-06-02", "Radio Un", "Night Drive", "Nina Nova", 1, 60),
        ("S2|T1|2024-06-02", "Beat FM", "Night Drive", "Nina Nova", 1, 100),
        ("S1|T3|2024-06-03", "Radio Un", "B-Side", "The Loops", 1, 90),
    ]


def test_plays_carry_net_royalty(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select play_id, station_name, track_title, artist_name, iswc, royalty_amount_minor, royalty_currency,
                  party_payable_minor, suspense_minor, hold_minor, is_royalty_posted, is_in_suspense, is_on_hold
           from analytics.fct_plays order by play_id""",
    )
    w1, w2 = "T-000.000.001-0", "T-000.000.002-1"
    assert rows == [
        ("PL1", "Radio Un", "Night Drive", "Nina Nova", w1, 900, "EUR", 900, 0, 0, True, False, False),
        ("PL2", "Radio Un", "Night Drive", "Nina Nova", w1, 1000, "EUR", 1000, 0, 0, True, False, False),
        # was in suspense (r1); released and paid to its parties once the split was approved (r2)
        ("PL3", "Radio Un", "Loop Song", "The Loops", w2, 600, "EUR", 600, 0, 0, True, False, False),
        ("PL4", "Beat FM", "Night Drive", "Nina Nova", w1, 333, "USD", 333, 0, 0, True, False, False),
        ("PL5", "Radio Un", "Night Drive", "Nina Nova", w1, 300, "EUR", 0, 0, 300, True, False, True),
        ("PL6", "Radio Un", "B-Side", "The Loops", None, None, None, None, None, None, False, False, False),
    ]


def test_dimensions(built):
    warehouse, _, _ = built
    assert query(
        warehouse,
        """select track_id, artist_name, iswc, split_party_count, has_approved_split, has_work_split,
                  has_recording_split, has_reference_audio
           from analytics.dim_tracks order by track_id""",
    ) == [
        ("T1", "Nina Nova", "T-000.000.001-0", 2, True, True, False, True),
        ("T2", "The Loops", "T-000.000.002-1", 3, True, True, False, False),
        ("T3", "The Loops", None, 1, True, False, True, False),
        ("T4", "The Loops", None, 0, False, False, False, False),
    ]
    assert query(
        warehouse,
        """select party_id, party_type, subject_count, work_count, recording_count, split_set_count, split_count
           from analytics.dim_parties order by party_id""",
    ) == [
        ("P1", "person", 2, 2, 0, 2, 2),
        ("P2", "company", 2, 2, 0, 2, 2),
        ("P3", "person", 2, 1, 1, 2, 2),
        ("P4", None, 0, 0, 0, 0, 0),
    ]
    assert query(
        warehouse,
        """select station_id, latest_tariff_id, latest_tariff_currency, cast(latest_tariff_rate_per_second as double)
           from analytics.dim_stations order by station_id""",
    ) == [("S1", "TF2", "EUR", 0.05), ("S2", "TF3", "USD", 0.0333)]
    assert query(
        warehouse,
        "select position, is_in_catalog from analytics.fct_playlist_snapshots order by position",
    ) == [(1, True), (2, False)]


def test_tracks_carry_their_audio_features_and_golden_recording(built):
    warehouse, _, _ = built
    assert query(
        warehouse,
        """select track_id, golden_id, tempo_bpm, dj_bpm, musical_key, camelot_key, open_key, energy
           from analytics.dim_tracks order by track_id""",
    ) == [
        ("T1", "g-FRX202400001", 61.5, 123.0, "A minor", "8A", "1m", 0.75),
        # no reference audio, so no features: null, not zero
        ("T2", "g-GBX202400002", None, None, None, None, None, None),
        ("T3", "g-GBX202400003", None, None, None, None, None, None),
        ("T4", "g-GBX202400004", None, None, None, None, None, None),
    ]


def test_golden_recordings_name_their_sources_and_catalog_track(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select golden_id, isrc, isrc_source, recording_title, title_source, artist_source, album_source,
                  release_date_source, iswc, member_count, track_id, catalog_track_count, is_in_catalog,
                  dj_bpm, musical_key, camelot_key, open_key, energy
           from analytics.dim_golden_recordings order by golden_id""",
    )
    spotify, mb = "spotify:4uLU6hMCjMI75M1A2tKUQC", "musicbrainz:b1a9c0e2-7f3d-4c1a-9e5b-2d8f6a0c4e11"
    live = "spotify:7dGJo4pcD2V6oG8kP0tJRR"
    assert rows == [
        # the recording only Spotify knows: no ISRC, not in the catalog, no features
        (
            "g-9c2f4e1a7b3d5f60",
            None,
            None,
            "Night Drive (Live)",
            live,
            live,
            live,
            live,
            None,
            1,
            None,
            0,
            False,
            None,
            None,
            None,
            None,
            None,
        ),
        # ISRC from the label's file, title and artist from Spotify, date and ISWC from MusicBrainz
        (
            "g-FRX202400001",
            "FRX202400001",
            "file:T1",
            "Night Drive",
            spotify,
            spotify,
            "file:T1",
            mb,
            "T-000.000.001-0",
            3,
            "T1",
            1,
            True,
            123.0,
            "A minor",
            "8A",
            "1m",
            0.75,
        ),
        (
            "g-GBX202400002",
            "GBX202400002",
            "file:T2",
            "Loop Song",
            "file:T2",
            "file:T2",
            "file:T2",
            "file:T2",
            None,
            1,
            "T2",
            1,
            True,
            None,
            None,
            None,
            None,
            None,
        ),
        (
            "g-GBX202400003",
            "GBX202400003",
            "file:T3",
            "B-Side",
            "file:T3",
            "file:T3",
            "file:T3",
            "file:T3",
            None,
            1,
            "T3",
            1,
            True,
            None,
            None,
            None,
            None,
            None,
        ),
        (
            "g-GBX202400004",
            "GBX202400004",
            "file:T4",
            "Demo Tape",
            "file:T4",
            "file:T4",
            None,
            None,
            None,
            1,
            "T4",
            1,
            True,
            None,
            None,
            None,
            None,
            None,
        ),
    ]


def test_playlist_snapshots_carry_policy_theme_and_account(built):
    warehouse, _, _ = built
    assert query(
        warehouse,
        """select playlist_snapshot_entry_id, playlist_id, track_title, policy_id, theme, global_index, account_id
           from analytics.fct_playlist_snapshots order by position""",
    ) == [
        ("2024-06-01|focus-flow-001|1", "focus-flow-001", "Night Drive", "focus-flow", "FocusFlow", 1, "label-main"),
        ("2024-06-01|focus-flow-001|2", "focus-flow-001", None, "focus-flow", "FocusFlow", 1, "label-main"),
    ]


def test_playlist_sync_records_urls_and_errors(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select playlist_sync_id, theme, playlist_name, status, action, is_synced, error, playlist_url,
                  snapshot_track_count, tracks_sent, tracks_skipped, export_m3u_path, has_file_export, request_count
           from analytics.fct_playlist_sync order by global_index""",
    )
    assert rows == [
        (
            "2024-06-01|label-main|focus-flow-001",
            "FocusFlow",
            "Vibe • FocusFlow • #001 • 2024-06-01",
            "synced",
            "created",
            True,
            None,
            "https://open.spotify.com/playlist/37i9dQZF1DX0XUsuxWHRQd",
            2,
            1,
            1,
            None,
            False,
            3,
        ),
        (
            "2024-06-01|label-two|late-night-001",
            "LateNight",
            "Vibe • LateNight • #002 • 2024-06-01",
            "failed",
            "exported",
            False,
            "503 Service Unavailable: retries exhausted after 4 attempts",
            None,
            0,
            0,
            0,
            "data/exports/curation/2024-06-01/002-late-night-001.m3u",
            True,
            4,
        ),
    ]


def test_playlist_plans_per_day(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select plan_date, usable_track_count, p_star, account_capacity, playlist_floor, planned_playlist_count,
                  assigned_playlist_count, unassigned_playlist_count, moved_playlist_count, limited_by,
                  snapshot_playlist_count, short_playlist_count, snapshot_track_count, synced_playlist_count,
                  unsynced_playlist_count
           from analytics.fct_playlist_plans order by plan_date""",
    )
    assert rows == [
        (date(2024, 6, 1), 4, 2, 5, 2, 2, 2, 0, 0, "catalog", 2, 1, 2, 1, 1),
        # capacity fell below the floor: one playlist has no account; nothing snapshotted or synced yet
        (date(2024, 6, 2), 4, 2, 1, 2, 2, 1, 1, 1, "floor", 0, 0, 0, 0, 0),
    ]


def test_split_review_queue(built):
    warehouse, _, _ = built
    assert query(
        warehouse,
        """select task_id, subject_type, subject_id, subject_title, status, is_waiting_for_review, rule_codes,
                  issue_rule_codes, issue_count, error_count, warning_count, info_count, decided_by
           from analytics.fct_split_review_queue order by task_id""",
    ) == [
        ("SS-T1", "recording", "T1", "Night Drive", "open", True, "RS007", "RS007", 2, 0, 2, 0, None),
        (
            "SS-W1b",
            "work",
            "W1",
            "Night Drive",
            "blocked",
            False,
            "RS001,RS002,RS010",
            "RS001,RS002,RS010",
            3,
            2,
            0,
            1,
            None,
        ),
        ("SS-W2", "work", "W2", "Loop Song", "approved", False, "RS004", "RS004", 1, 0, 1, 0, "maria"),
    ]


def test_party_statements_close_and_carry_over(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select party_statement_id, party_name, opening_minor, earnings_minor, adjustments_minor, payouts_minor,
                  closing_minor, held_minor, statement_line_count, play_count
           from analytics.fct_party_statements order by party_id, currency, period""",
    )
    assert rows == [
        ("2024-06|P1|EUR", "Ada Writer", 0, 950, 120, 0, 1070, 150, 3, 5),
        ("2024-07|P1|EUR", "Ada Writer", 1070, 0, 0, -1000, 70, 150, 1, 0),
        ("2024-06|P1|USD", "Ada Writer", 0, 167, 0, 0, 167, 0, 1, 1),
        ("2024-06|P2|EUR", "Pub Co", 0, 950, 300, 0, 1250, 150, 3, 5),
        ("2024-06|P2|USD", "Pub Co", 0, 166, 0, 0, 166, 0, 1, 1),
        ("2024-06|P3|EUR", "Lou Loop", 0, 0, 180, 0, 180, 0, 1, 1),
    ]
    # closing = opening + earnings + adjustments + payouts on every statement
    assert all(r[6] == r[2] + r[3] + r[4] + r[5] for r in rows)


def test_disputes(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select dispute_id, play_id, station_name, track_title, status, resolution, is_open, resolved_at,
                  days_open, hold_minor, royalty_currency
           from analytics.fct_disputes order by dispute_id""",
    )
    days_since_opened = (date.today() - date(2024, 6, 2)).days
    d1 = rows[0]
    assert d1[:8] == ("D1", "PL5", "Radio Un", "Night Drive", "verified", None, True, None)
    assert abs(d1[8] - days_since_opened) <= 1  # open: counted to today (the engine's clock and time zone)
    assert d1[9:] == (300, "EUR")
    assert rows[1] == (
        "D2",
        "PL1",
        "Radio Un",
        "Night Drive",
        "resolved",
        "rejected",
        False,
        datetime(2024, 6, 2, 1, 0),
        1,
        0,
        "EUR",
    )


def test_every_model_and_column_is_documented_and_keyed(built):
    _, target, _ = built
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    models = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert len(models) >= 20
    tests_by_model: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node"):
            meta = node.get("test_metadata") or {}
            tests_by_model.setdefault(node["attached_node"], set()).add(f"{meta.get('name')}:{node.get('column_name')}")
    missing = []
    for unique_id, node in models.items():
        if not node["description"].strip():
            missing.append(f"{node['name']}: model description")
        if "grain" not in node["description"].lower():
            missing.append(f"{node['name']}: grain not stated")
        actual_columns = {c.lower() for c in catalog["nodes"][unique_id]["columns"]}
        documented = {c.lower(): v["description"] for c, v in node["columns"].items()}
        missing += [f"{node['name']}.{c}" for c in actual_columns if not documented.get(c, "").strip()]
        missing += [f"{node['name']}.{c}: documented but absent" for c in documented.keys() - actual_columns]
        tests = tests_by_model.get(unique_id, set())
        keyed = {t.split(":")[1] for t in tests if t.startswith("unique:")} & {
            t.split(":")[1] for t in tests if t.startswith("not_null:")
        }
        if not keyed:
            missing.append(f"{node['name']}: no primary key tested unique + not_null")
    assert not missing, missing


def test_broken_ledger_and_statements_fail_the_build(built, tmp_path):
    """The money tests can fail: an unbalanced batch, a reversal that does not negate its batch and a statement
    whose closing does not add up must each be reported."""
    warehouse, _, _ = built
    broken = tmp_path / "broken.duckdb"
    query(warehouse, "checkpoint")  # flush the WAL dbt's open connection holds, so the copy is complete
    shutil.copy(warehouse, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute(
            f"""insert into royalties.royalty_ledger values ('{R2}', 11, 'posting', '2024-06-01', '2024-06', 'S1',
                'PL1', 'T1', 'station_receivable', null, 1, 'EUR', 'TF2', '2024-06-05 10:00:00')"""
        )
        # still balanced, but gives P1 back 50 less than r1 credited and P2 50 more
        for line_no, amount in ((2, 400), (3, 500)):
            con.execute(
                f"update royalties.royalty_ledger set amount_minor = {amount} "
                f"where batch_id = '{REVERSAL}' and line_no = {line_no}"
            )
        con.execute(
            "update royalties.party_statements set closing_minor = 1071 where period = '2024-06' "
            "and party_id = 'P1' and currency = 'EUR'"
        )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "duckdb")
        mp.setenv("BACKBEAT_DUCKDB_PATH", str(broken))
        # staging is a view and sees the changed lines as is; the statements mart is rebuilt
        result = run_dbt(
            ["build", "--select", "stg_royalties__ledger_lines", "fct_party_statements"], tmp_path / "target"
        )
    assert not result.success
    failures = {r.node.name for r in result.result if str(r.status) == "fail"}
    assert any(name.startswith("sums_to_zero_stg_royalties__ledger_lines") for name in failures), failures
    assert "assert_reversals_negate_their_batch" in failures
    assert "assert_ledger_batch_headers_match_lines" in failures
    assert any(name.startswith("equals_sum_of_fct_party_statements_closing_minor") for name in failures), failures
    assert "assert_statement_opening_is_previous_closing" in failures
    warned = {r.node.name for r in result.result if str(r.status) == "warn"}
    assert "assert_statements_reconcile_to_ledger" in warned


def test_marts_are_the_same_on_postgresql(built, postgres_server, tmp_path):
    """The SQL is portable: built on a real PostgreSQL from the same rows, every mart holds the same values."""
    import psycopg2

    from backbeat.settings import dbt_environment

    warehouse, _, _ = built
    url = postgres_server.create_database("dbt_marts")
    with closing(psycopg2.connect(url)) as pg, pg, pg.cursor() as cur:  # commits, then closes
        cur.execute(source_ddl())
        cur.execute(SOURCE_ROWS)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in dbt_environment(url).items():
            mp.setenv(name, value)
        result = run_dbt(["build"], tmp_path / "target")
    assert result.success, failed_nodes(result) or result.exception
    assert not [r.node.name for r in result.result if str(r.status) == "warn"]

    different = []
    with closing(psycopg2.connect(url)) as pg, pg.cursor() as cur:
        for mart in sorted(MART_TABLES):
            columns = [
                c
                for (c,) in query(
                    warehouse,
                    f"""select column_name from information_schema.columns
                where table_schema = 'analytics' and table_name = '{mart}' order by ordinal_position""",
                )
            ]
            # counted to today: each engine's clock (DuckDB local time, PostgreSQL UTC) may straddle midnight
            columns = [c for c in columns if c != "days_open"]
            sql = f"select {', '.join(columns)} from analytics.{mart}"
            cur.execute(sql)
            # the first column is the primary key; sort here, the engines' text collations differ
            on_pg = sorted(cur.fetchall(), key=lambda r: str(r[0]))
            on_duckdb = sorted(query(warehouse, sql), key=lambda r: str(r[0]))
            if on_pg != on_duckdb or not on_duckdb:
                different.append((mart, on_duckdb, on_pg))
    assert not different, different


def test_parse_for_postgres_target(tmp_path):
    """Parse needs no connection: the postgres output of profiles.yml and the project must parse."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "postgres")
        result = run_dbt(["parse"], tmp_path / "target")
    assert result.success, result.exception
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "postgres"
    schemas = {n["schema"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert schemas == {"analytics"}


# ---- Contracts, unit tests, the semantic layer and source freshness -------------------------------------


def test_marts_the_finance_export_reads_have_enforced_contracts(built):
    from assets.exports.assets import FINANCE_MARTS

    _, target, _ = built
    manifest = json.loads((target / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    enforced = {name for name, n in models.items() if n["config"]["contract"]["enforced"]}
    assert enforced == set(FINANCE_MARTS)
    for name in FINANCE_MARTS:  # every column typed, so the contract covers the whole table
        assert all(c["data_type"] for c in models[name]["columns"].values()), name


def test_a_mart_that_breaks_its_contract_is_not_built(built, tmp_path):
    """Change a contracted column's type (bigint -> varchar): dbt refuses to build the mart."""
    warehouse, _, _ = built
    relative = Path("models") / "marts" / "royalties" / "fct_party_royalties_daily.sql"
    broken = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, broken, ignore=shutil.ignore_patterns("target", "logs"))
    sql = (broken / relative).read_text()
    typed = "cast(sum(line_count) as bigint) as line_count"
    assert typed in sql
    (broken / relative).write_text(sql.replace(typed, "cast(sum(line_count) as varchar) as line_count"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "duckdb")
        mp.setenv("BACKBEAT_DUCKDB_PATH", str(warehouse))
        result = dbtRunner().invoke(
            [
                "run",
                "--select",
                "fct_party_royalties_daily",
                "--project-dir",
                str(broken),
                "--profiles-dir",
                str(broken),
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
            ]
        )
    assert not result.success
    assert "contract" in failed_nodes(result)[0].lower(), failed_nodes(result)


def test_unit_tests_of_the_money_logic_pass(built):
    _, _, result = built
    unit = {r.node.name: str(r.status) for r in result.result if r.node.resource_type == "unit_test"}
    assert unit == {
        "ledger_amounts_net_over_revisions": "pass",
        "reversal_batch_negates_the_batch_it_reverses": "pass",
        "statement_opens_on_the_previous_months_closing": "pass",
        "outreach_outcomes_count_once_for_the_send_they_answer": "pass",
        "outreach_funnel_counts_every_step_of_the_sequence": "pass",
    }


def test_statements_say_whether_they_open_on_the_previous_closing(built):
    warehouse, _, _ = built
    assert query(
        warehouse,
        """select party_statement_id, previous_closing_minor, opens_on_previous_closing
           from analytics.fct_party_statements where party_id = 'P1' and currency = 'EUR' order by period""",
    ) == [("2024-06|P1|EUR", None, None), ("2024-07|P1|EUR", 1070, True)]


def test_semantic_models_and_metrics_define_airplay_and_royalties(built):
    _, target, _ = built
    manifest = json.loads((target / "manifest.json").read_text())
    semantic = {s["name"]: s for s in manifest["semantic_models"].values()}
    assert set(semantic) == {
        "plays",
        "stations",
        "ledger_lines",
        "parties",
        "outreach_sends",
        "outreach_campaigns",
        "track_leaderboard",
        "artist_leaderboard",
        "station_leaderboard",
        "program_leaderboard",
        "payouts",
        "party_royalties_monthly",
    }
    metrics = {m["name"]: m for m in manifest["metrics"].values()}
    assert {
        "plays",
        "airtime_seconds",
        "party_royalties_minor",
        "held_royalties_minor",
        "station_billed_minor",
        "suspense_royalties_minor",
        "payouts_minor",
    } <= set(metrics)
    ledger = semantic["ledger_lines"]
    assert {e["name"] for e in ledger["entities"]} >= {"party", "station"}
    assert {d["name"] for d in ledger["dimensions"]} >= {"posted_for", "currency", "accounting_period"}
    airtime = next(m for m in semantic["plays"]["measures"] if m["name"] == "airtime_seconds")
    assert (airtime["agg"], airtime["expr"]) == ("sum", "duration_s")


def test_time_spine_covers_every_day(built):
    warehouse, _, _ = built
    assert query(
        warehouse,
        """select min(date_day), max(date_day), count(*), count(distinct date_day)
                               from analytics.metricflow_time_spine""",
    ) == [(date(2020, 1, 1), date(2035, 12, 31), 5844, 5844)]


def test_source_freshness_flags_stale_loads(built, tmp_path):
    """The test warehouse's rows were loaded in 2024: every source with a load time is past its error threshold."""
    warehouse, _, _ = built
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "duckdb")
        mp.setenv("BACKBEAT_DUCKDB_PATH", str(warehouse))
        run_dbt(["source", "freshness", "--output", str(tmp_path / "sources.json")], tmp_path / "target")
    results = json.loads((tmp_path / "sources.json").read_text())["results"]
    statuses = {r["unique_id"].split(".", 2)[2]: r["status"] for r in results}
    assert statuses == {
        name: "error"
        for name in (
            "catalog.artists",
            "catalog.tracks",
            "royalties.royalty_ledger",
            "royalties.ledger_batches",
            "curation.playlist_sync",
        )
    }
