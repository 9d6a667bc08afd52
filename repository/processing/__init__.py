"""File processing after upload: thumbnails, PDF renditions and text extraction.

Pure functions over local files (no database, Flask or storage): the app downloads an uploaded
object to a temp file, calls these and stores the outputs. Every step is idempotent and runs the
risky parsing in a child process with a wall-clock timeout and RLIMIT_AS/RLIMIT_CPU limits.
"""
from .errors import ProcessingFailed
from .extract import ExtractedText, extract_text
from .renditions import libreoffice_available, pdf_rendition
from .thumbnails import ffmpeg_available, make_thumbnail

__all__ = [
    "ProcessingFailed", "ExtractedText", "extract_text", "libreoffice_available", "pdf_rendition",
    "make_thumbnail", "ffmpeg_available",
]
