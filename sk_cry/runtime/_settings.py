"""Detection settings kept beside a bundle: the hop and event rules that
``sk-cry calibrate`` measured for one room, read by ``detect``, ``listen`` and
``monitor``.

A settings file is small JSON::

    {"sk_cry_settings": 1, "model_sha256": "...", "hop": 0.512,
     "rules": {"threshold": 0.97, ...}, "calibration": {...}}

It names the model it was measured with: read with another model, it is refused
(thresholds do not carry over between models).
"""

import json
import os

from ..core import EventRules
from ..exceptions import ParameterError

__all__ = ["read_settings", "write_settings"]

SETTINGS_VERSION = 1
_MAX_BYTES = 1 << 16  # a settings file is a few hundred bytes


def write_settings(path, model, *, rules, hop=None, calibration=None):
    """Write the detection settings of ``model`` (a :class:`BundleModel`) to ``path``.

    Parameters
    ----------
    path : str or path-like
    model : BundleModel
        The detector the settings were measured with (its ``sha256`` is kept).
    rules : EventRules or dict
    hop : float or None, default=None
        Seconds between windows; None: the bundle's own.
    calibration : dict or None, default=None
        How they were found (JSON-able), kept for the reader.
    """
    rules = rules if isinstance(rules, EventRules) else EventRules.from_dict(rules)
    document = {"sk_cry_settings": SETTINGS_VERSION, "model_sha256": model.sha256,
                "hop": None if hop is None else float(hop),
                "rules": rules.validate().to_dict(), "calibration": calibration or {}}
    with open(path, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=1)
        out.write("\n")
    return path


def read_settings(path, model=None):
    """``(hop or None, EventRules)`` from a settings file.

    Parameters
    ----------
    path : str or path-like
    model : BundleModel or None, default=None
        When given, the settings must have been measured with it.

    Raises
    ------
    ParameterError
        If the file cannot be read, is not a settings file, holds invalid
        rules, or names another model.
    """
    try:
        if os.path.getsize(path) > _MAX_BYTES:
            raise ParameterError(f"{path}: {os.path.getsize(path):,} bytes is not a "
                                 "settings file (sk-cry calibrate writes a few hundred)")
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParameterError(f"cannot read the settings file {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("sk_cry_settings") != SETTINGS_VERSION:
        raise ParameterError(f"{path} is not an sk_cry settings file (version "
                             f"{SETTINGS_VERSION}); write one with sk-cry calibrate")
    if model is not None and document.get("model_sha256") != model.sha256:
        raise ParameterError(
            f"{path} was calibrated for the model {str(document.get('model_sha256'))[:12]}"
            f", not for {model.sha256[:12]}: thresholds do not carry over between "
            "models; run sk-cry calibrate with this one")
    rules = document.get("rules")
    if not isinstance(rules, dict):
        raise ParameterError(f"{path}: 'rules' must be an object of event rules")
    try:
        rules = EventRules.from_dict(rules)
    except (TypeError, ParameterError) as exc:
        raise ParameterError(f"{path}: {exc}") from exc
    hop = document.get("hop")
    if hop is not None and (isinstance(hop, bool) or not isinstance(hop, (int, float))):
        raise ParameterError(f"{path}: 'hop' must be seconds or null, got {hop!r}")
    return hop, rules
