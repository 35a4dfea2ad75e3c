"""The cry detector that ships inside sk_cry.

Trained by ``benchmarks/train_detector.py`` from the shared data (the seed-cry
clips against real household, outdoor, animal, music and speech recordings,
credited in ``NOTICE``); its cross-validated figures are in
``benchmarks/RESULTS.md``.
"""

from functools import lru_cache
from pathlib import Path

__all__ = ["DEFAULT_DETECTOR", "default_detector"]

#: Where the default detector's bundle lies inside the package.
DEFAULT_DETECTOR = Path(__file__).with_name("detector.skcry-bundle")


@lru_cache(maxsize=1)
def _load():
    from ._model import load

    return load(DEFAULT_DETECTOR)


def default_detector():
    """The detector bundle that ships with sk_cry (classes ``background`` and
    ``cry``), loaded once and shared: its calls take a lock, so threads may share
    it, one call at a time.

    Returns
    -------
    detector : BundleModel
        With its ``detection`` settings (hop and event rules) as trained.

    Examples
    --------
    >>> from sk_cry import runtime
    >>> detector = runtime.default_detector()
    >>> [str(c) for c in detector.classes_]
    ['background', 'cry']
    """
    return _load()
