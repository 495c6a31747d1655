"""Speech recognition on this server: the caller's recorded question in, its text out. Nothing leaves the machine.

`audio` decodes what the browser recorded, `vocabulary` builds the decoder's prompt from the knowledge base, and
`recognizer` runs Whisper (tiny.en on CTranslate2) on a worker thread of its own."""

from kb_service.speech.audio import AudioTooLong, NotAudio, UndecodableAudio
from kb_service.speech.recognizer import Recognizer, SpeechBusy, SpeechUnavailable, Transcript

__all__ = [
    "AudioTooLong",
    "NotAudio",
    "Recognizer",
    "SpeechBusy",
    "SpeechUnavailable",
    "Transcript",
    "UndecodableAudio",
]
