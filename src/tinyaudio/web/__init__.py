"""Local web page (``tinyaudio serve``): record training clips, watch live classification.

Needs the ``web`` extra (starlette, uvicorn) and, for the live view, the ``runtime`` extra.
"""

from tinyaudio.web.clips import UploadError, check_label, delete_clip, list_labels, read_wav, save_clip

__all__ = ["UploadError", "check_label", "delete_clip", "list_labels", "read_wav", "save_clip"]
