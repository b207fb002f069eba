"""Live capture of AES-128 encrypted HLS (RFC 8216 4.3.2.4, 5.2): #EXT-X-KEY parsing, segment decryption, key
fetching and caching, and the local live server serving encrypted segments with a key rotation."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import soundfile as sf
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from support_modules import load_support_module

from backbeat.airplay.landing import list_landing
from integrations.radio import CaptureConfig, capture_station
from integrations.radio.gaps import read_gaps
from integrations.radio.hls import MediaPlaylist, PlaylistError, SegmentKey, parse_playlist
from integrations.radio.hls_crypto import DecryptError, decrypt_segment, segment_iv
from integrations.radio.stream import StreamError, StreamSource
from integrations.retry import Backoff

servers = load_support_module(Path(__file__).parent / "radio_support" / "servers.py", "radio_support_servers")
FAST = CaptureConfig(chunk_seconds=2.0, backoff=Backoff(base=0.2, factor=2.0, maximum=1.0), stable_seconds=60)
KEY_A = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
KEY_B = bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f")
WRONG = bytes.fromhex("00000000000000000000000000000001")


def _encrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-128-CBC with PKCS#7 padding, as an HLS packager writes a segment."""
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()


def _media(text: str, base: str = "http://h/radio/live/a.m3u8") -> MediaPlaylist:
    playlist = parse_playlist("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:7\n" + text, base)
    assert isinstance(playlist, MediaPlaylist)
    return playlist


# ---- Parsing ---------------------------------------------------------------------------------------------


def test_key_lines_apply_to_the_following_segments_until_the_next_one() -> None:
    media = _media(
        "#EXTINF:6.0,\ns7.ts\n"
        '#EXT-X-KEY:METHOD=AES-128,URI="keys/a.key"\n#EXTINF:6.0,\ns8.ts\n#EXTINF:6.0,\ns9.ts\n'
        '#EXT-X-KEY:METHOD=AES-128,URI="https://k.example/b?t=1,2",IV=0x000102030405060708090A0B0C0D0E0F,'
        'KEYFORMAT="identity",KEYFORMATVERSIONS="1"\n#EXTINF:6.0,\ns10.ts\n'
        "#EXT-X-KEY:METHOD=NONE\n#EXTINF:6.0,\ns11.ts\n"
        '#EXT-X-KEY:METHOD=AES-128,URI="/keys/c.key",IV=0x1f\n#EXTINF:6.0,\ns12.ts\n'
    )
    keys = [s.key for s in media.segments]
    assert [s.sequence for s in media.segments] == [7, 8, 9, 10, 11, 12]
    assert keys[0] is None, "segments before the first key are clear"
    assert keys[1] == keys[2] == SegmentKey("AES-128", "http://h/radio/live/keys/a.key", None)
    assert keys[3] == SegmentKey("AES-128", "https://k.example/b?t=1,2", bytes(range(16))), "rotated, with an IV"
    assert keys[4] is None, "METHOD=NONE switches encryption off"
    assert keys[5] == SegmentKey("AES-128", "http://h/keys/c.key", bytes(15) + b"\x1f")


def test_identity_key_is_picked_among_key_formats_and_drm_only_is_refused() -> None:
    media = _media(
        '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://drm",KEYFORMAT="com.apple.streamingkeydelivery"\n'
        '#EXT-X-KEY:METHOD=AES-128,URI="k.key"\n#EXTINF:6.0,\ns7.ts\n'
    )
    assert media.segments[0].key == SegmentKey("AES-128", "http://h/radio/live/k.key", None)
    with pytest.raises(PlaylistError, match="KEYFORMAT com.apple.streamingkeydelivery .*DRM"):
        _media(
            '#EXT-X-KEY:METHOD=AES-128,URI="skd://x",KEYFORMAT="com.apple.streamingkeydelivery"\n#EXTINF:6.0,\ns7.ts\n'
        )


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ('METHOD=SAMPLE-AES,URI="k.key"', r"METHOD=SAMPLE-AES \(per-sample encryption .*\) is not supported"),
        ('METHOD=SAMPLE-AES-CTR,URI="k.key"', "METHOD=SAMPLE-AES-CTR"),
        ('METHOD=AES-256,URI="k.key"', "METHOD=AES-256 is not supported"),
        ("METHOD=AES-128", "has no URI"),
        ('METHOD=AES-128,URI="k.key",IV=0xZZ', "IV '0xZZ' is not"),
        ('METHOD=AES-128,URI="k.key",IV=0x' + "0" * 33, "128-bit"),
    ],
)
def test_unsupported_or_broken_keys_are_refused_clearly(tag: str, message: str) -> None:
    with pytest.raises(PlaylistError, match=message):
        _media(f"#EXTINF:6.0,\ns7.ts\n#EXT-X-KEY:{tag}\n#EXTINF:6.0,\ns8.ts\n")


# ---- Decryption ------------------------------------------------------------------------------------------


def test_decrypt_known_answer_and_round_trips_with_explicit_and_sequence_ivs() -> None:
    # NIST SP 800-38A F.2.1 (CBC-AES128), followed by the PKCS#7 block a full-block plaintext gets.
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    iv = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    plain = bytes.fromhex(
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
    )
    cipher = bytes.fromhex(
        "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
        "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"
    )
    assert decrypt_segment(cipher + _encrypt(b"", key, cipher[-16:]), key, iv) == plain

    data = bytes(range(256)) * 37 + b"odd tail"  # not a whole number of blocks: padding is partial
    assert decrypt_segment(_encrypt(data, KEY_A, iv), KEY_A, segment_iv(iv, 41)) == data
    assert segment_iv(None, 41) == bytes(15) + b"\x29"
    assert segment_iv(None, 2**64 - 1) == bytes(8) + b"\xff" * 8
    assert decrypt_segment(_encrypt(data, KEY_A, segment_iv(None, 41)), KEY_A, segment_iv(None, 41)) == data

    with pytest.raises(DecryptError, match="bad PKCS#7 padding") as wrong:
        decrypt_segment(_encrypt(data, KEY_A, iv), WRONG, iv)
    assert KEY_A.hex() not in str(wrong.value) and WRONG.hex() not in str(wrong.value)
    with pytest.raises(DecryptError, match="not a whole number"):
        decrypt_segment(_encrypt(data, KEY_A, iv)[:-1], KEY_A, iv)


def _fake_segments(folder: Path, count: int) -> list[tuple[str, float]]:
    """Segments of fixed bytes (the stream source never decodes them): deterministic ciphertext everywhere."""
    folder.mkdir(exist_ok=True)
    for n in range(count):
        (folder / f"seg{n:03d}.ts").write_bytes(f"segment {n} ".encode() * 300)
    return [(f"seg{n:03d}.ts", 1.0) for n in range(count)]


def test_stream_source_names_the_segment_a_wrong_key_fails_and_refetches_the_key(tmp_path: Path) -> None:
    segments = _fake_segments(tmp_path, 3)  # all listed, three target durations: capture starts at segment 0
    with servers.RadioServer() as server:
        # Segment 0: key A, sequence-number IV; 1: key B, sequence-number IV; 2: key B, explicit IV.
        server.hls = plan = servers.HlsPlan(
            tmp_path, segments, initial=3, window=3, keys={0: KEY_A, 1: KEY_B}, iv_from=2, key_body=WRONG
        )
        source = StreamSource(f"{server.url}/hls/live.m3u8", halt=threading.Event())
        connection = source.connect(None)
        with pytest.raises(StreamError) as failed:
            next(connection.blocks)
        assert re.fullmatch(
            r"cannot decrypt HLS segment 0: bad PKCS#7 padding \(wrong key or IV\?\)", failed.value.reason
        ), failed.value.reason
        assert WRONG.hex() not in failed.value.reason

        plan.key_body = None  # the server fixed its key: the failed key was not kept, so it is fetched again
        blocks = source.connect(None).blocks
        for name, _ in segments:  # byte for byte: a wrong IV would only garble each segment's first block
            assert next(blocks) == (tmp_path / name).read_bytes(), name
        assert plan.requests.count("keys/0.key") == 2 and plan.requests.count("keys/1.key") == 1

        plan.key_body = KEY_A + b"!"
        source = StreamSource(f"{server.url}/hls/live.m3u8", halt=threading.Event())
        with pytest.raises(StreamError, match=r"^HLS key for segment 0 is 17 bytes, expected 16$"):
            next(source.connect(None).blocks)


# ---- Live capture ----------------------------------------------------------------------------------------


def test_encrypted_live_hls_with_a_key_rotation_captures_every_segment(tmp_path: Path) -> None:
    media = tmp_path / "hls"
    media.mkdir()
    segments = servers.make_hls(media, seconds=6, segment_seconds=1)
    assert len(segments) >= 6
    landing = tmp_path / "landing"
    with servers.RadioServer() as server:
        # Key A with sequence-number IVs, then key B (one tag per segment, explicit IVs), then clear again.
        server.hls = plan = servers.HlsPlan(
            media, segments, initial=3, window=3, keys={0: KEY_A, 2: KEY_B, 4: None}, iv_from=2
        )
        assert plan.segment_body(0) != (media / segments[0][0]).read_bytes()
        # Until the ended playlist was served to a reconnect: every segment has been read by then.
        result = servers.capture_until(
            lambda: plan.ended_served >= 2, "aes-fm", f"{server.url}/hls/master.m3u8", landing, config=FAST
        )
        requested = list(plan.requests)

    chunks = [sf.info(str(f.path)).duration for f in list_landing(landing)]
    assert abs(sum(chunks) - sum(d for _, d in segments)) < 0.15, "every segment decrypted and decoded"
    assert requested.count("keys/0.key") == 1 and requested.count("keys/2.key") == 1, "one fetch per key"
    assert sum(name.startswith("segments/") for name in requested) == len(segments)
    # The only gap is the silence after the stream ended (#EXT-X-ENDLIST), as for a clear stream.
    assert all(g.reason.startswith("HLS playlist ended") for g in read_gaps(landing, "aes-fm"))
    assert result.error is None


def test_a_refused_key_is_a_recorded_gap(tmp_path: Path) -> None:
    segments = _fake_segments(tmp_path / "hls", 6)
    landing = tmp_path / "landing"
    with servers.RadioServer() as server:
        server.hls = servers.HlsPlan(tmp_path / "hls", segments, keys={0: KEY_A}, key_status=403)
        result = capture_station("locked-fm", f"{server.url}/hls/live.m3u8", landing, config=FAST, duration=2.0)
        key_requests = server.hls.requests.count("keys/0.key")

    assert result.chunks == [] and key_requests >= 2, "the key is retried, not given up on"
    (gap,) = read_gaps(landing, "locked-fm")
    assert gap.reason.startswith("HTTP 403 on HLS key"), gap.reason
    assert gap.seconds > 1.5
