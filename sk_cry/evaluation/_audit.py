"""Dataset audit: find recording properties and duplicates that give the label away."""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np
import scipy.fft
import soundfile as sf
import soxr
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import OrdinalEncoder
from sklearn.tree import DecisionTreeClassifier

from ..exceptions import AudioLoadError, ParameterError
from ..io import load_audio
from ..runtime import SILENCE_DBFS
from . import _duplicates

__all__ = ["AuditReport", "Finding", "audit"]

_SEVERITIES = ("critical", "warning", "info")
_MIN_OVERLAP_S = 1.0  # shared audio shorter than this is not called a duplicate
# a property finding is critical only with at least this many readable clips in
# every class: on fewer, a one-threshold classifier scores high by luck (a
# loudness stump reached 0.88 on 8 clean synthetic clips)
_MIN_PER_CLASS_CRITICAL = 10
_PSD_FFT = 1024
# the effective bandwidth ends where the long-term spectrum falls this many dB
# below its peak
_BANDWIDTH_EDGE_DB = 60.0
_HANN = librosa.filters.get_window("hann", _PSD_FFT, fftbins=True).astype(np.float32)


@dataclass
class Finding:
    """One thing the audit found.

    Attributes
    ----------
    kind : str
        ``"sample_rate"`` (the sample rate), ``"format"`` (channel count, bit
        depth or codec, file format), ``"bandwidth"``, ``"duration"``,
        ``"level"``, ``"duplicate"``, ``"unreadable"`` (a file that cannot be
        read, with the loader's message) or ``"group_overlap"``.
    severity : {"info", "warning", "critical"}
    message : str
        One line, with the numbers.
    files : list of str
        The files involved (empty when all are).
    score : float or None
        For a property: the cross-validated balanced accuracy of a one-feature
        classifier on it (chance is ``1 / n_classes``).
    """

    kind: str
    severity: str
    message: str
    files: list = field(default_factory=list)
    score: float = None

    def __str__(self):
        return f"[{self.severity}] {self.kind}: {self.message}"


class AuditReport:
    """What :func:`audit` found, worst first.

    Attributes
    ----------
    findings : list of Finding
    properties : dict of str -> ndarray
        Per-file measurements (``sample_rate``, ``channels``, ``subtype``,
        ``format``, ``duration``, ``bandwidth``, ``rms_db``,
        ``clipped``, ``silence``).
    chance : float
        Balanced accuracy of guessing, ``1 / n_classes``.
    """

    def __init__(self, findings, properties, chance, n_files):
        order = {s: i for i, s in enumerate(_SEVERITIES)}
        self.findings = sorted(findings, key=lambda f: order[f.severity])
        self.properties = properties
        self.chance = chance
        self.n_files = n_files

    def by_kind(self, kind):
        """The findings of one kind."""
        return [f for f in self.findings if f.kind == kind]

    @property
    def shortcuts(self):
        """Findings of severity warning or critical."""
        return [f for f in self.findings if f.severity != "info"]

    def __str__(self):
        head = (f"Audit of {self.n_files} files: {len(self.shortcuts)} problem(s) "
                f"(balanced-accuracy chance level {self.chance:.2f})")
        return "\n".join([head] + [f"  {f}" for f in self.findings])

    def __repr__(self):
        return (f"<AuditReport: {len(self.findings)} findings, "
                f"{len(self.shortcuts)} problems>")


def _is_missing(labels):
    """True where a label is NaN or None (pandas' missing values included)."""
    if labels.dtype.kind == "f":
        return np.isnan(labels)
    if labels.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in labels],
                        dtype=bool)
    return np.zeros(labels.shape, dtype=bool)


def _check_labels(paths, labels):
    """Refuse labels that are not one per path, or that are missing (NaN or None)."""
    if len(paths) != len(labels):
        raise ParameterError(f"{len(paths)} paths but {len(labels)} labels")
    missing = np.flatnonzero(_is_missing(labels))
    if missing.size:
        raise ParameterError(
            f"{missing.size} label(s) are missing (NaN or None), e.g. for "
            f"{paths[missing[0]]}; label those files or leave them out"
        )


def _scan_files(paths, planes, n_jobs):
    """:func:`_try_scan` of every file, in order, on ``n_jobs`` threads."""
    # threads: decoding, resampling and the STFTs run outside the GIL, and a
    # process worker would first spend seconds importing librosa and sklearn
    # (seed-cry's 453 files: 2.0 s on 2 threads, 3.9 s on 2 fresh processes)
    # Each result keeps a few kilobytes per file (no waveform, no fingerprint),
    # and joblib dispatches a few files ahead of the workers, so memory does not
    # grow with the number of files beyond that.
    return Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_try_scan)(p, planes) for p in paths)


def _try_scan(path, planes):
    """``_scan(path, planes)``, or the ``AudioLoadError`` that says why it cannot be
    read."""
    try:
        return _scan(path, planes)
    except AudioLoadError as exc:
        return exc


def _frames(x, length, hop):
    """Frames of ``x`` as librosa's ``center=True`` makes them (zero padding)."""
    padded = np.pad(x, length // 2)
    return np.lib.stride_tricks.sliding_window_view(padded, length)[::hop]


def _scan(path, planes):
    """Header facts, level, band and duplicate-search signature of one file.

    The numbers of ``librosa.feature.rms``, ``librosa.stft`` and
    ``power_to_db(melspectrogram(...), ref=np.max)`` (to float32 round-off), in
    a few numpy calls each: librosa's own took 3 ms of the 4 ms per seed-cry
    file, most of it in Python, which holds the GIL the other threads wait for.
    """
    try:
        info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioLoadError(path, f"is not readable audio ({exc})") from exc
    x = load_audio(path, sr=info.samplerate, duration=max(info.duration, 1e-3))
    n = max(info.frames, 1)
    x = x[:n]
    peak = float(np.abs(x).max())
    frame_rms = np.sqrt(np.mean(np.square(_frames(x, 400, 200)), axis=1))
    # Long-term average spectrum (Welch-like: mean of Hann-windowed periodograms).
    # The bandwidth is its _BANDWIDTH_EDGE_DB edge, a property of the recording chain; the
    # share of energy above a fixed frequency is not used, since a higher-pitched
    # cry has more of it for real (it false-alarmed on clean synthetic cries).
    spectrum = scipy.fft.rfft(_frames(x, _PSD_FFT, _PSD_FFT // 2) * _HANN, axis=1)
    psd = np.mean(np.square(np.abs(spectrum)), axis=0)
    freqs = librosa.fft_frequencies(sr=info.samplerate, n_fft=_PSD_FFT)
    psd_db = 10 * np.log10(psd + 1e-20)
    above = np.flatnonzero(psd_db > psd_db.max() - _BANDWIDTH_EDGE_DB)
    # soxr "HQ" is librosa.resample's default
    x_fp = x if info.samplerate == _duplicates.SR else soxr.resample(
        x, info.samplerate, _duplicates.SR, quality="HQ")
    return dict(
        sample_rate=info.samplerate, channels=info.channels, subtype=info.subtype,
        format=info.format, duration=info.frames / info.samplerate,
        bandwidth=float(freqs[above[-1]]) if above.size else 0.0,
        # level of the loud frames (90th percentile), not the mean: a cry with
        # shorter pauses has a higher mean RMS for real, not from the recording
        rms_db=float(20 * np.log10(np.percentile(frame_rms, 90) + 1e-10)), peak=peak,
        clipped=float(np.mean(np.abs(x) >= 0.999)),
        # near-digital silence (padding, muted input), not the pauses of a cry
        silence=float(np.mean(frame_rms < 10 ** (SILENCE_DBFS / 20))),
        digest=hashlib.sha1(np.round(x * 32767).astype(np.int32).tobytes()).hexdigest(),
        signature=_duplicates.signature(x_fp, planes),
    )


# property -> (finding kind, label for messages, categorical?)
# Channels, bit depth and container are one kind, "format", apart from the sample
# rate: a stereo or 24-bit class is a different fix (downmix, re-encode) from an
# 8-kHz one (resample, band-limit), and a reader filtering on "sample_rate"
# should not be handed a channel-count finding.
_PROPERTIES = {
    "sample_rate": ("sample_rate", "sample rate", True),
    "channels": ("format", "channel count", True),
    "subtype": ("format", "bit depth / codec", True),
    "format": ("format", "file format", True),
    "bandwidth": ("bandwidth", f"effective bandwidth (-{_BANDWIDTH_EDGE_DB:g} dB edge)",
                  False),
    "duration": ("duration", "duration", False),
    "rms_db": ("level", "loudness (90th-percentile frame RMS, dBFS)", False),
    "clipped": ("level", "share of clipped samples", False),
    "silence": ("level", f"share of silent frames (< {SILENCE_DBFS:g} dBFS)", False),
}


def _unreadable_findings(paths, scans):
    """A warning for each file whose scan is the error that says why it is unreadable."""
    return [Finding("unreadable", "warning", f"{scan}; the rest of the audit leaves "
                    "it out", [paths[i]])
            for i, scan in enumerate(scans) if isinstance(scan, AudioLoadError)]


def _measurements(scans):
    """The per-file properties of the scanned files, one array per property."""
    props = {k: np.asarray([s[k] for s in scans]) for k in _PROPERTIES}
    props["peak"] = np.asarray([s["peak"] for s in scans])
    return props


def _describe(values, y, classes, categorical):
    parts = []
    for k, name in enumerate(classes):
        v = values[y == k]
        if categorical:
            uniq, counts = np.unique(v, return_counts=True)
            commonest = uniq[np.argsort(-counts)][:2]
            parts.append(f"{name}: " + "/".join(f"{u}" for u in commonest))
        else:
            parts.append(f"{name}: median {np.median(v.astype(float)):.3g}")
    return "; ".join(parts)


def _shortcut_findings(props, y, classes, *, cv, margin, random_state):
    """:func:`_property_findings` on up to ``cv`` stratified folds; none when a
    class has fewer than two files (or there is one class), as no fold can be
    scored."""
    n_splits = min(cv, int(np.bincount(y).min())) if len(classes) > 1 else 0
    if n_splits < 2:
        return []
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    return _property_findings(props, y, classes, folds, margin)


def _property_findings(props, y, classes, cv, margin):
    """A finding for each property on which a decision stump beats chance by
    ``margin`` under ``cv``."""
    findings = []
    chance = 1.0 / len(classes)
    enough = np.bincount(y, minlength=len(classes)).min() >= _MIN_PER_CLASS_CRITICAL
    for prop, (kind, label, categorical) in _PROPERTIES.items():
        values = np.asarray(props[prop])
        if np.unique(values).size < 2:
            continue
        feature = (OrdinalEncoder().fit_transform(values.reshape(-1, 1).astype(str))
                   if categorical else values.reshape(-1, 1).astype(float))
        # A stump: one threshold on one property. If that beats chance under CV,
        # a network can learn the same shortcut.
        score = cross_val_score(DecisionTreeClassifier(max_depth=1), feature, y, cv=cv,
                                scoring="balanced_accuracy").mean()
        if score < chance + margin:
            continue
        strong = score >= chance + 2 * margin or score >= 0.9
        severity = "critical" if strong and enough else "warning"
        findings.append(Finding(
            kind, severity,
            f"the {label} alone predicts the label: balanced accuracy {score:.2f} "
            f"(chance {chance:.2f}) [{_describe(values, y, classes, categorical)}]",
            score=float(score),
        ))
    return findings


def _uniform_findings(props):
    """Info findings for the format properties every file shares."""
    findings = []
    for prop in ("sample_rate", "channels", "subtype", "format"):
        kind, label, _ = _PROPERTIES[prop]
        values = np.unique(props[prop])
        if values.size == 1:
            findings.append(Finding(kind, "info", f"every file has {label} {values[0]}"))
    return findings


def _duplicate_findings(paths, scans, y, groups, classes):
    """``(i, j, finding)`` for each pair of files ``paths[i]``, ``paths[j]`` that
    share audio: the indices travel with the finding, so that a caller maps it
    back to its rows even when a path is listed twice."""
    findings = []
    signatures = [s["signature"] for s in scans]
    lengths = np.array([s.envelope.size for s in signatures])
    frame = _duplicates.HOP / _duplicates.SR
    pairs = _duplicates.find_duplicates(
        paths, [s["duration"] for s in scans], signatures, [s["digest"] for s in scans],
        min_overlap=int(_MIN_OVERLAP_S / frame))
    for i, j, identical, lag, overlap in pairs:
        shorter = min(lengths[i], lengths[j])
        if identical:
            what = "identical audio"
        elif abs(lag) <= 5 and overlap >= 0.9 * shorter:
            what = "near-identical audio (re-encoded, trimmed or rescaled)"
        else:
            what = (f"overlapping audio ({overlap * frame:.1f} s shared, "
                    f"shifted {abs(lag) * frame:.2f} s)")
        where = []
        if y[i] != y[j]:
            where.append(f"different classes ({classes[y[i]]} vs {classes[y[j]]})")
        else:
            where.append(f"same class ({classes[y[i]]})")
        if groups is not None:
            where.append("different groups" if groups[i] != groups[j] else "same group")
        severity = "critical" if y[i] != y[j] else "warning"
        dupes_msg = (f"{what}: {Path(paths[i]).name} ~ {Path(paths[j]).name}, "
                     f"{', '.join(where)}; keep one copy, or keep copies in one fold "
                     "(pass groups)")
        findings.append((i, j, Finding("duplicate", severity, dupes_msg,
                                       [str(paths[i]), str(paths[j])])))
    return findings


def _split_sides(split, paths):
    """Normalise a split to a list of (train indices, test indices)."""
    index = {str(p): k for k, p in enumerate(paths)}
    if isinstance(split, tuple) and len(split) == 2:
        split = [split]
    sides = []
    for train, test in split:
        if len(train) and isinstance(next(iter(train)), (str, Path)):
            try:
                train = [index[str(p)] for p in train]
                test = [index[str(p)] for p in test]
            except KeyError as exc:
                raise ParameterError(f"split names {exc} which is not in paths") from exc
        sides.append((np.asarray(train, int), np.asarray(test, int)))
    return sides


def _overlap_findings(split, paths, groups, dupe_pairs):
    """Groups, and pairs ``(i, j)`` of duplicates (indices into ``paths``), that
    lie on both sides of a fold of ``split``."""
    findings = []
    sides = _split_sides(split, paths)
    for fold, (train, test) in enumerate(sides):
        tag = f"fold {fold}: " if len(sides) > 1 else ""
        if groups is not None:
            shared = sorted(set(groups[train]) & set(groups[test]), key=str)
            if shared:
                files = [str(paths[k]) for k in test if groups[k] in shared]
                findings.append(Finding(
                    "group_overlap", "critical",
                    f"{tag}{len(shared)} group(s) on both sides of the split, e.g. "
                    f"{str(shared[0])!r}; split by group (GroupKFold, "
                    "StratifiedGroupKFold)",
                    files))
        in_train, in_test = set(train.tolist()), set(test.tolist())
        for i, j in dupe_pairs:
            if (i in in_train and j in in_test) or (j in in_train and i in in_test):
                findings.append(Finding(
                    "group_overlap", "critical",
                    f"{tag}duplicate audio on both sides of the split: "
                    f"{Path(paths[i]).name} ~ {Path(paths[j]).name}; the test score "
                    "partly measures memory", [str(paths[i]), str(paths[j])]))
    return findings


def audit(paths, y, groups=None, *, split=None, cv=5, margin=0.15, n_jobs=None,
          random_state=0):
    """Look for shortcuts in a set of labelled recordings before training on it.

    Checks whether a recording property alone predicts the label (sample rate;
    channels, bit depth, file format; effective bandwidth; duration; loudness,
    clipping, silence), finds duplicated audio (identical samples, the same clip
    re-encoded, trimmed or rescaled, and clips cut from one recording with
    overlapping windows), and, given a split, any group or duplicate that lies
    on both sides of it. Nothing here depends on file names.

    A property "predicts the label" when a one-threshold classifier (a decision
    stump) on that property alone reaches a cross-validated balanced accuracy of
    at least chance + ``margin``; its score is reported. It is critical only when
    every class has at least 10 readable files. A file that cannot be read is a
    finding of its own (``unreadable``, with the loader's message), and the rest
    of the audit goes on without it.

    Parameters
    ----------
    paths : sequence of str or path-like
    y : array-like of shape (n_files,)
        Labels.
    groups : array-like of shape (n_files,) or None, default=None
        Recording group (speaker, family, device) of each file.
    split : (train, test) or iterable of (train, test), or None, default=None
        Indices into ``paths``, or lists of paths, e.g. ``list(cv.split(X, y))``.
    cv : int, default=5
        Folds for the one-property classifiers.
    margin : float, default=0.15
        How far above chance a property must score to be reported (twice as far,
        or >= 0.9, makes it critical).
    n_jobs : int or None, default=None
        Threads scanning files (joblib semantics:
        -1 all cores). Threads rather than processes: a process worker first
        spends about a second importing what the scan needs.
    random_state : int, default=0
        Shuffling of the folds, and the random projections of the duplicate
        search.

    Returns
    -------
    report : AuditReport

    Raises
    ------
    ParameterError
        If ``paths`` and ``y`` differ in length, or a label is missing (NaN or
        None).

    Examples
    --------
    >>> from sk_cry.evaluation import audit
    >>> report = audit(paths, y)                         # doctest: +SKIP
    >>> print(report)                                    # doctest: +SKIP
    Audit of 453 files: 6 problem(s) (balanced-accuracy chance level 0.50)
      [critical] sample_rate: the sample rate alone predicts the label: ...
    """
    paths = [str(p) for p in paths]
    labels = np.asarray(y)
    _check_labels(paths, labels)
    if groups is not None:
        groups = np.asarray(groups)
    scans = _scan_files(paths, _duplicates.projections(random_state), n_jobs)
    findings = _unreadable_findings(paths, scans)
    # the rest looks at the readable files only: ``read`` maps their positions
    # back to rows of ``paths``
    read = [i for i, scan in enumerate(scans) if not isinstance(scan, AudioLoadError)]
    if not read:
        return AuditReport(findings, {}, 1.0, len(paths))
    scans = [scans[i] for i in read]
    classes, y_read = np.unique(labels[read], return_inverse=True)
    props = _measurements(scans)
    findings += _shortcut_findings(props, y_read, classes, cv=cv, margin=margin,
                                   random_state=random_state)
    findings += _uniform_findings(props)
    dupes = _duplicate_findings([paths[i] for i in read], scans, y_read,
                                None if groups is None else groups[read], classes)
    findings += [finding for _, _, finding in dupes]
    if split is not None:
        findings += _overlap_findings(split, paths, groups,
                                      [(read[i], read[j]) for i, j, _ in dupes])
    return AuditReport(findings, props, 1.0 / max(len(classes), 1), len(paths))
