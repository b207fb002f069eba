"""The ffmpeg binary (from imageio-ffmpeg) as a pipe: compressed stream bytes in, 16-bit PCM out.

ffmpeg probes the container itself, so MP3, ADTS AAC and MPEG-TS/ADTS HLS segments all go through the same
pipe, and the PCM rate and channel count are fixed here, so the chunker can count time in samples.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections import deque

BYTES_PER_SAMPLE = 2  # s16le


class DecoderError(Exception):
    """ffmpeg refused the bytes or died."""


def ffmpeg_exe() -> str:
    import imageio_ffmpeg  # imported lazily: it looks the binary up on import

    return imageio_ffmpeg.get_ffmpeg_exe()


class Decoder:
    """One ffmpeg process per connection; write() from one thread, read() from another."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        command = [
            ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error",
            # A small probe: the stream arrives in real time, and the default 5 s probe would delay every chunk.
            "-probesize", "32768", "-analyzeduration", "500000",
            "-i", "pipe:0", "-map", "0:a:0", "-vn",
            "-ac", str(channels), "-ar", str(sample_rate), "-f", "s16le", "-flush_packets", "1", "pipe:1",
        ]  # fmt: skip
        # A new session keeps a terminal's Ctrl-C away from ffmpeg: we stop it by closing its input, so the
        # audio already sent is still decoded into the final chunk.
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        self._errors: deque[str] = deque(maxlen=5)
        # stderr is drained continuously: a stream of corrupt frames could otherwise fill the pipe and wedge ffmpeg.
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()

    def write(self, data: bytes) -> None:
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(data)
            self._process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise DecoderError(self.error() or "decoder exited") from exc

    def close_input(self) -> None:
        """End of the compressed stream: ffmpeg decodes what it has, then closes its output."""
        try:
            assert self._process.stdin is not None
            self._process.stdin.close()
        except OSError:
            pass  # ffmpeg already gone; read() will see the end of its output

    def read(self, size: int = 65536) -> bytes:
        """Some PCM as soon as it is available; b"" once ffmpeg has finished."""
        assert self._process.stdout is not None
        return self._process.stdout.read1(size)

    def finish(self, timeout: float = 10.0) -> int:
        """Wait for ffmpeg to exit (killing it if it does not) and return its exit code."""
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        self._stderr_reader.join(timeout=1)
        for pipe in (self._process.stdin, self._process.stdout, self._process.stderr):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(OSError):
                    pipe.close()
        return code

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()

    def error(self) -> str | None:
        """ffmpeg's last error line, if it printed any."""
        return self._errors[-1] if self._errors else None

    def _drain_stderr(self) -> None:
        assert self._process.stderr is not None
        for raw in self._process.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self._errors.append(line)
