"""Exception hierarchy of sk_cry.

Every error sk_cry raises on purpose derives from :class:`SkCryError`, so a caller
can catch them all at once, and from the builtin a caller would expect
(``ValueError``), so generic handlers keep working (librosa's ``LibrosaError ->
ParameterError`` pattern).
"""

__all__ = ["SkCryError", "ParameterError", "AudioLoadError", "DatasetError",
           "ModelFileError", "ModelVersionWarning", "TruncatedAudioWarning"]


class SkCryError(Exception):
    """Base class of every exception raised by sk_cry."""


class ParameterError(SkCryError, ValueError):
    """A parameter value, or the shape of the data it must fit, is invalid."""


class AudioLoadError(SkCryError, ValueError):
    """An audio clip could not be turned into a usable waveform.

    Parameters
    ----------
    source : str
        The file path, or a description such as ``"waveform 3"``.
    reason : str
        What was wrong and how to fix it.

    Attributes
    ----------
    source : str
        The file path or waveform index that failed.
    reason : str
        The reason, without the source.
    """

    def __init__(self, source, reason):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")

    def __reduce__(self):
        # Keep the error picklable so joblib workers can send it back intact.
        return type(self), (self.source, self.reason)


class DatasetError(SkCryError, ValueError):
    """A data folder or label file does not describe a usable data set."""


class TruncatedAudioWarning(UserWarning):
    """An audio file holds fewer samples than its header declares.

    Issued by :func:`sk_cry.io.load_audio` and :class:`sk_cry.AudioLoader` when the
    missing part falls within the seconds loaded (those are padded with silence);
    the message names the file and how many samples and seconds are missing.
    ``strict=True`` makes it an :class:`AudioLoadError` instead.
    """


class ModelFileError(SkCryError, ValueError):
    """A file is not a readable sk_cry model file: not one at all, a damaged header,
    or a payload whose length or SHA-256 is not the one its header records."""


class ModelVersionWarning(UserWarning):
    """A model file was saved with other package versions than are running."""
