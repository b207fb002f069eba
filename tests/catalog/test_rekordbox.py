"""Rekordbox XML export: a re-export keeps the DJ's cues and fields and updates what Backbeat owns."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from pyrekordbox.rbxml import RekordboxXml

from backbeat.catalog.rekordbox import (
    DjTrack,
    RekordboxExportError,
    export_rekordbox_xml,
    location_url,
    stable_track_id,
)

LIBRARY = [
    DjTrack("trk-1", "Night Drive", "/music/Night Drive.mp3", "Kasper Lund", "Afterhours", "House", 372.4, 124.0, "Am"),
    DjTrack("trk-2", "Breakbeat Science", "/music/breakbeat.flac", "DJ Ona", None, "Drum & Bass", 301.0, 174.0, "8B"),
    DjTrack("trk-3", "Slow Burn", "/music/slow burn.wav", "Mira", "Embers", "Hip Hop", 201.0, 92.0, "F#m"),
]


def _track(root: ET.Element, track_id: int) -> ET.Element:
    found = root.find(f"COLLECTION/TRACK[@TrackID='{track_id}']")
    assert found is not None, track_id
    return found


def _play_in_rekordbox(path: Path) -> None:
    """What a DJ does in Rekordbox before exporting the collection back over our file."""
    tree = ET.parse(path)
    root = tree.getroot()
    night = _track(root, stable_track_id("trk-1"))
    night.set("Rating", "204")
    night.set("Colour", "0xFF007F")
    night.set("Comments", "peak time")
    night.set("MyTag", "warmup")  # an attribute pyrekordbox's model does not know
    ET.SubElement(night, "TEMPO", Inizio="0.112", Bpm="124.00", Metro="4/4", Battito="1")
    ET.SubElement(night, "POSITION_MARK", Name="", Type="0", Start="0.112", Num="-1")
    ET.SubElement(
        night, "POSITION_MARK", Name="drop", Type="0", Start="61.998", Num="0", Red="230", Green="40", Blue="40"
    )
    ET.SubElement(
        night,
        "POSITION_MARK",
        Name="loop",
        Type="4",
        Start="93.0",
        End="100.742",
        Num="1",
        Red="255",
        Green="140",
        Blue="0",
    )
    breaks = _track(root, stable_track_id("trk-2"))
    ET.SubElement(breaks, "TEMPO", Inizio="0.05", Bpm="174.00", Metro="4/4", Battito="1")
    ET.SubElement(
        breaks, "POSITION_MARK", Name="intro", Type="0", Start="0.05", Num="0", Red="40", Green="226", Blue="20"
    )
    slow = _track(root, stable_track_id("trk-3"))
    ET.SubElement(slow, "POSITION_MARK", Name="verse", Type="0", Start="12.0", Num="0")
    # A playlist of the DJ's own, keyed by TrackID.
    folder = root.find("PLAYLISTS/NODE")
    gig = ET.SubElement(folder, "NODE", Name="Friday gig", Type="1", KeyType="0", Entries="2")
    ET.SubElement(gig, "TRACK", Key=str(stable_track_id("trk-3")))
    ET.SubElement(gig, "TRACK", Key=str(stable_track_id("trk-1")))
    folder.set("Count", str(len(folder.findall("NODE"))))
    tree.write(path, encoding="utf-8", xml_declaration=True)


def test_first_export_is_a_rekordbox_collection(tmp_path: Path) -> None:
    path = tmp_path / "rekordbox.xml"
    report = export_rekordbox_xml(LIBRARY, path, playlists={"Backbeat: new": ["trk-2", "trk-1"]})
    assert (report.tracks, report.new_tracks, report.kept_cues) == (3, 3, 0)
    xml = RekordboxXml(path)
    assert xml.num_tracks == 3
    night = xml.get_track(TrackID=stable_track_id("trk-1"))
    assert (night.Name, night.Artist, night.Album, night.Genre) == ("Night Drive", "Kasper Lund", "Afterhours", "House")
    assert (night.TotalTime, night.AverageBpm, night.Tonality, night.Kind) == (372, 124.0, "Am", "MP3 File")
    assert xml.get_track(TrackID=stable_track_id("trk-2")).Tonality == "C"  # 8B
    assert xml.get_track(TrackID=stable_track_id("trk-3")).Tonality == "F#m"
    assert night._element.get("Location") == "file://localhost/music/Night%20Drive.mp3"
    playlist = xml.get_playlist("Backbeat: new")
    assert playlist.get_tracks() == [stable_track_id("trk-2"), stable_track_id("trk-1")]


def test_reexport_keeps_cues_and_dj_fields_and_updates_bpm(tmp_path: Path) -> None:
    path = tmp_path / "rekordbox.xml"
    export_rekordbox_xml(LIBRARY, path, playlists={"Backbeat: new": ["trk-1"]})
    _play_in_rekordbox(path)

    # The library changes: trk-1's BPM is re-analysed (half time fixed), trk-2 moved file, trk-3 left the
    # library, trk-4 is new.
    library = [
        DjTrack(
            "trk-1",
            "Night Drive",
            "/music/Night Drive.mp3",
            "Kasper Lund",
            "Afterhours",
            "House",
            372.4,
            124.5,
            "A minor",
        ),
        DjTrack(
            "trk-2", "Breakbeat Science", "/archive/breakbeat.flac", "DJ Ona", None, "Drum & Bass", 301.0, 174.0, "8B"
        ),
        DjTrack("trk-4", "Fresh", "/music/fresh.mp3", "New Act", None, "Pop", 180.0, 110.0, "1d"),
    ]
    report = export_rekordbox_xml(library, path, playlists={"Backbeat: new": ["trk-4"]})
    assert (report.kept_tracks, report.new_tracks, report.removed_tracks) == (2, 1, 1)
    assert report.kept_cues == 4
    assert report.bpm_changed == 1

    xml = RekordboxXml(path)
    assert xml.num_tracks == 3
    night = xml.get_track(TrackID=stable_track_id("trk-1"))
    assert night.AverageBpm == 124.5
    assert [(m.Name, m.Type, m.Start, m.Num) for m in night.marks] == [
        ("", "cue", 0.112, -1),
        ("drop", "cue", 61.998, 0),
        ("loop", "loop", 93.0, 1),
    ]
    assert night.marks[2].End == 100.742
    assert (night.Rating, night.Colour, night.Comments) == (4, "0xFF007F", "peak time")
    assert night._element.get("MyTag") == "warmup"
    assert night.tempos == []  # the beat grid was for 124.0 BPM
    # Hot-cue colours are not in pyrekordbox's model; they survive as raw attributes.
    drop = night._element.findall("POSITION_MARK")[1]
    assert (drop.get("Red"), drop.get("Green"), drop.get("Blue")) == ("230", "40", "40")

    # Matched by TrackID although the file moved; BPM unchanged, so the grid stays.
    breaks = xml.get_track(TrackID=stable_track_id("trk-2"))
    assert breaks.Location.endswith("archive/breakbeat.flac")
    assert [m.Name for m in breaks.marks] == ["intro"]
    assert [(t.Bpm, t.Inizio) for t in breaks.tempos] == [(174.0, 0.05)]

    assert xml.get_track(TrackID=stable_track_id("trk-3")) is None
    assert xml.get_track(TrackID=stable_track_id("trk-4")).marks == []
    assert xml.get_playlist("Backbeat: new").get_tracks() == [stable_track_id("trk-4")]
    # The DJ's playlist is kept, without the track that left the library.
    assert xml.get_playlist("Friday gig").get_tracks() == [stable_track_id("trk-1")]


def test_export_from_a_frame_and_a_separate_previous_file(tmp_path: Path) -> None:
    first = tmp_path / "old.xml"
    export_rekordbox_xml(LIBRARY, first)
    _play_in_rekordbox(first)
    frame = pl.DataFrame(
        {
            "track_id": ["trk-1"],
            "title": ["Night Drive (Remastered)"],
            "location": ["/music/Night Drive.mp3"],
            "artist": ["Kasper Lund"],
            "duration_ms": [372_400],
            "tempo_bpm": [124.0],
            "key": ["8A"],
        }
    )
    out = tmp_path / "new.xml"
    report = export_rekordbox_xml(frame, out, previous=first)
    assert report.kept_cues == 3 and report.bpm_changed == 0
    night = RekordboxXml(out).get_track(TrackID=stable_track_id("trk-1"))
    assert night.Name == "Night Drive (Remastered)"
    assert [t.Bpm for t in night.tempos] == [124.0]


def test_unreadable_previous_export_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "rekordbox.xml"
    path.write_text("<DJ_PLAYLISTS><COLLECTION>truncated")
    with pytest.raises(RekordboxExportError):
        export_rekordbox_xml(LIBRARY, path)
    assert path.read_text() == "<DJ_PLAYLISTS><COLLECTION>truncated"


def test_location_urls_and_track_ids() -> None:
    assert location_url("/Users/dj/Music/a b.mp3") == "file://localhost/Users/dj/Music/a%20b.mp3"
    assert location_url(r"C:\Music\a b.mp3") == "file://localhost/C:/Music/a%20b.mp3"
    assert stable_track_id("123") == 123
    assert stable_track_id("trk-1") == stable_track_id("trk-1") != stable_track_id("trk-2")
    assert 0 < stable_track_id("trk-1") < 2**31


def test_duplicate_locations_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="location"):
        export_rekordbox_xml([LIBRARY[0], DjTrack("x", "Copy", LIBRARY[0].location)], tmp_path / "r.xml")
