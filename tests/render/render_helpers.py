"""What the render tests share: a file that says which encoding it takes."""

from __future__ import annotations

import io


class EncodedFile(io.StringIO):
    """A file that says which encoding it takes, as a terminal's stdout does (Rich draws ASCII for ascii)."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self.taken_encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.taken_encoding
