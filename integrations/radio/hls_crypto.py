"""Decrypting HLS segments encrypted with METHOD=AES-128 (RFC 8216 4.3.2.4 and 5.2).

Each whole segment is AES-128-CBC encrypted with PKCS#7 padding. The 16-byte key is fetched from the key URI
(`stream.StreamSource` does that and caches it); the IV is the one in the #EXT-X-KEY tag or, when the tag has
none, the segment's media sequence number as a 16-byte big-endian integer.

Key bytes are secrets: nothing here logs them or puts them (or anything derived from them) in a message.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_BYTES = 16
BLOCK_BYTES = 16


class DecryptError(ValueError):
    """A segment that does not decrypt: wrong length, or bad padding (usually the wrong key or IV)."""


def segment_iv(iv: bytes | None, sequence: int) -> bytes:
    """The IV of segment `sequence`: the tag's IV, else the media sequence number (RFC 8216 5.2)."""
    if iv is not None:
        return iv
    if not 0 <= sequence < 1 << 128:
        raise DecryptError(f"media sequence number {sequence} does not fit a 128-bit IV")
    return sequence.to_bytes(BLOCK_BYTES, "big")


def decrypt_segment(data: bytes, key: bytes, iv: bytes) -> bytes:
    """The clear bytes of one AES-128-CBC, PKCS#7-padded segment."""
    if len(key) != KEY_BYTES:
        raise DecryptError(f"the key is {len(key)} bytes, expected {KEY_BYTES}")
    if len(iv) != BLOCK_BYTES:
        raise DecryptError(f"the IV is {len(iv)} bytes, expected {BLOCK_BYTES}")
    if not data or len(data) % BLOCK_BYTES:
        raise DecryptError(f"{len(data)} bytes is not a whole number of {BLOCK_BYTES}-byte AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(BLOCK_BYTES * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise DecryptError("bad PKCS#7 padding (wrong key or IV?)") from None
