"""The error of an import that cannot be done: it names the file and, one by one, every layer at fault."""

from __future__ import annotations

from convtui.errors import ConvtuiError


class ModelImportError(ConvtuiError):
    """A model file that cannot be read, or a model convtui cannot represent; nothing is written."""
