"""Folders of audio files <-> (paths, labels) Bunches."""

import csv
import re
from pathlib import Path

import numpy as np
import soundfile as sf
from sklearn.utils import Bunch

from ..exceptions import DatasetError
from ..io import AUDIO_EXTENSIONS

__all__ = ["AGE_BANDS", "AUDIO_EXTENSIONS", "DONATE_A_CRY_REASONS", "load_folder",
           "parse_name", "write_folder"]

# "awake_01", "hungry-f-04-07": the label is the leading run of letters.
_NAME_LABEL = re.compile(r"^([A-Za-z]+)(?:[-_ ]|\d|$)")

#: Age bands of the Donate-a-cry naming convention (also used by the reference).
AGE_BANDS = {"04": "0-4 weeks", "48": "4-8 weeks", "26": "2-6 months",
             "72": "7 months-2 years", "22": "over 2 years"}
#: Reason codes of the Donate-a-cry naming convention.
DONATE_A_CRY_REASONS = {
    "hu": "hungry", "bu": "burping", "bp": "belly_pain", "dc": "discomfort",
    "ti": "tired", "lo": "lonely", "ch": "cold_hot", "sc": "scared", "dk": "dont_know",
}
_AGES = "|".join(AGE_BANDS)
# <app-instance uuid>-<unix time>-<app version>-<gender>-<age>-<reason>
_DONATE_A_CRY = re.compile(
    r"^(?P<group>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
    r"[0-9A-Fa-f]{12})-(?P<time>\d+)-(?P<version>[0-9.]+)-(?P<gender>[mf])-"
    rf"(?P<age>{_AGES})-(?P<reason>{'|'.join(DONATE_A_CRY_REASONS)})$"
)
# the reference's "hungry-f-04-07": <label>-<gender>-<age>-<n>
_LABEL_GENDER_AGE = re.compile(rf"^(?P<label>[A-Za-z]+)-(?P<gender>[mf])-(?P<age>{_AGES})-\d+$")


def parse_name(name):
    """What a file name says: label, group, gender and age, where it says them.

    Understands the Donate-a-cry convention
    ``<app uuid>-<unix time>-<app version>-<m|f>-<age>-<reason>`` (the group is
    the app instance, one family's phone) and the reference's
    ``<label>-<m|f>-<age>-<n>``; otherwise the label is the leading word.

    Parameters
    ----------
    name : str
        File name, with or without folder and extension.

    Returns
    -------
    info : dict
        Keys ``label``, ``group``, ``gender``, ``age`` (None where unknown).

    Examples
    --------
    >>> parse_name("0c8f14a9-6999-485b-97a2-913c1cbf099c-1431849615293-1.7-m-26-hu.wav")
    {'label': 'hungry', 'group': '0c8f14a9-6999-485b-97a2-913c1cbf099c', 'gender': 'm', 'age': '26'}
    >>> parse_name("hungry-f-04-07.wav")["age"]
    '04'
    """
    stem = Path(name).stem
    info = dict(label=None, group=None, gender=None, age=None)
    match = _DONATE_A_CRY.match(stem)
    if match:
        info.update(label=DONATE_A_CRY_REASONS[match["reason"]], group=match["group"].lower(),
                    gender=match["gender"], age=match["age"])
        return info
    match = _LABEL_GENDER_AGE.match(stem)
    if match:
        info.update(label=match["label"].lower(), gender=match["gender"], age=match["age"])
        return info
    match = _NAME_LABEL.match(stem)
    if match:
        info["label"] = match.group(1).lower()
    return info


def _read_labels_csv(labels_csv):
    """``{file name: label}`` from a CSV whose first two columns are file, label."""
    path = Path(labels_csv)
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and any(row)]
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read labels CSV ({exc})") from exc
    if rows and not Path(rows[0][0]).suffix.lower() in AUDIO_EXTENSIONS:
        rows = rows[1:]  # a header such as "Cry_Audio_File,Label"
    bad = [i for i, row in enumerate(rows, 2) if len(row) < 2]
    if bad:
        raise DatasetError(
            f"{path}: line {bad[0]} has fewer than two columns; expected "
            "'<file name>,<label>' per line (e.g. the reference's Cry_Audio_File,Label)"
        )
    return {row[0].strip(): row[1].strip() for row in rows}


def _label_from_name(path):
    label = parse_name(path.name)["label"]
    if label is None:
        raise DatasetError(
            f"{path}: cannot read a label from the file name; name files "
            "'<label>_<n>.wav', put them in one sub-folder per class, or pass labels_csv"
        )
    return label


def load_folder(path, labels_csv=None, *, extensions=AUDIO_EXTENSIONS):
    """List a folder of cry recordings with their labels.

    Labels come from, in order of precedence:

    1. ``labels_csv``: a CSV of ``<file name>,<label>`` rows (header optional),
       such as the reference project's ``Cry_Audio_File,Label``; only the files
       it lists are returned;
    2. sub-folder names, when the audio lies in sub-folders (one per class, as
       ``sklearn.datasets.load_files`` expects);
    3. file names: the Donate-a-cry reason code (``...-m-26-hu.wav`` is
       ``"hungry"``), else the leading word, so ``awake_01.wav`` is ``"awake"``
       and ``hungry-f-04-07.wav`` is ``"hungry"``.

    Parameters
    ----------
    path : str or path-like
        The folder; searched recursively.
    labels_csv : str, path-like or None, default=None
    extensions : tuple of str, default=(".wav", ".flac", ".ogg")
        File endings to collect (case-insensitive).

    Returns
    -------
    data : Bunch
        ``paths`` (list of str, sorted), ``target`` (ndarray of int, indices
        into ``target_names``), ``target_names`` (ndarray of str, sorted),
        ``groups`` (ndarray: the Donate-a-cry app instance, a family's phone;
        None when no name carries a group), ``labels`` (the label of each file
        as written) and ``metadata`` (dict of ndarrays ``gender``, ``age``,
        ``age_band``; None where the name does not say). See :func:`parse_name`.

    Raises
    ------
    DatasetError
        If the folder holds no audio, a listed file is missing, or no label
        can be found for a file.

    Examples
    --------
    >>> from sk_cry.datasets import load_folder, make_cries, write_folder
    >>> import tempfile
    >>> X, y = make_cries(4, duration=0.5, random_state=0)
    >>> folder = write_folder(X, y, tempfile.mkdtemp(), sr=16000)
    >>> data = load_folder(folder)
    >>> len(data.paths), data.target_names.tolist()
    (4, ['0', '1'])
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    extensions = tuple(e.lower() for e in extensions)
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and p.suffix.lower() in extensions)
    if labels_csv is not None:
        table = _read_labels_csv(labels_csv)
        by_name = {p.relative_to(root).as_posix(): p for p in files}
        by_name.update({p.name: p for p in files if p.name not in by_name})
        missing = [name for name in table if name not in by_name]
        if missing:
            raise DatasetError(
                f"{labels_csv}: {len(missing)} listed file(s) not found under {root}, "
                f"e.g. {missing[0]!r}; check the folder or the CSV"
            )
        files = [by_name[name] for name in table]
        labels = list(table.values())
    elif not files:
        raise DatasetError(
            f"{root}: no audio files ({', '.join(extensions)}) found; point to the "
            "folder that holds the recordings"
        )
    elif any(p.parent != root for p in files):
        labels = [p.relative_to(root).parts[0] for p in files]
        if any(p.parent == root for p in files):
            loose = next(p for p in files if p.parent == root)
            raise DatasetError(
                f"{loose}: lies beside the class sub-folders of {root}; move it into "
                "the folder of its class"
            )
    else:
        labels = [_label_from_name(p) for p in files]
    target_names, target = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    parsed = [parse_name(p.name) for p in files]
    groups = None
    if any(info["group"] for info in parsed):
        # a file without a group in its name is its own group
        groups = np.asarray([info["group"] or str(p) for info, p in zip(parsed, files)])
    metadata = {
        key: np.asarray([info[key] for info in parsed], dtype=object)
        for key in ("gender", "age")
    }
    metadata["age_band"] = np.asarray([AGE_BANDS.get(a) for a in metadata["age"]],
                                      dtype=object)
    return Bunch(
        paths=[str(p) for p in files],
        target=target,
        target_names=target_names,
        groups=groups,
        labels=np.asarray(labels, dtype=str),
        metadata=metadata,
    )


def write_folder(X, y, path, *, sr, target_names=None):
    """Write waveforms as 16-bit WAV files in one sub-folder per class.

    The inverse of :func:`load_folder`: ``<path>/<class>/<class>_<i>.wav``.

    Parameters
    ----------
    X : array-like of shape (n_clips, n_samples)
        Waveforms in [-1, 1].
    y : array-like of shape (n_clips,)
        Class of each clip.
    path : str or path-like
        Folder to create (or fill).
    sr : int
        Sampling rate of ``X``.
    target_names : sequence of str or None, default=None
        Folder name of each class index; defaults to ``str(label)``.

    Returns
    -------
    path : pathlib.Path
    """
    root = Path(path)
    for i, (clip, label) in enumerate(zip(np.asarray(X), np.asarray(y))):
        name = str(target_names[label] if target_names is not None else label)
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{name}_{i:04d}.wav", clip, sr, subtype="PCM_16")
    return root
