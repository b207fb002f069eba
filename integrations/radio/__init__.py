"""Radio stream capture: live Icecast/SHOUTcast and HLS streams into timed chunk files in the landing folder."""

from integrations.radio.capture import CaptureConfig, CaptureEvents, CaptureResult, Resume, capture_station
from integrations.radio.many import capture_stations
from integrations.radio.stations import Station, read_stations

__all__ = [
    "CaptureConfig",
    "CaptureEvents",
    "CaptureResult",
    "Resume",
    "Station",
    "capture_station",
    "capture_stations",
    "read_stations",
]
