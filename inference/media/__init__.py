"""Media I/O for video notes: decoding user audio, encoding notes, inspecting the result."""

from inference.media.audio import load_audio, resample
from inference.media.encode import NoteEncoder
from inference.media.probe import NoteInfo, probe, read_audio, read_frames

__all__ = [
    "NoteEncoder",
    "NoteInfo",
    "load_audio",
    "probe",
    "read_audio",
    "read_frames",
    "resample",
]
