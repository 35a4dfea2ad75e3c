"""Data for cry *detection* (is a baby crying at all?): windows of cries mixed into
background against windows of background, and long test "nights" with cries at
known times, made from folders of cry clips and of non-cry recordings.

Data contract: every file written is mono, 16-bit, at ``sr`` Hz and band-limited
to ``max_bandwidth`` Hz, whatever rate its sources had, and both classes get their
levels from one distribution; so the sample rate, format, bandwidth and level of a
file say nothing about its label (``sk_cry.audit`` checks exactly that).
"""

import csv
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import soundfile as sf
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..core import SR
from ..exceptions import AudioLoadError, DatasetError, ParameterError
from ..io import load_audio
from ._folder import AUDIO_EXTENSIONS

__all__ = ["load_background", "make_detection_set", "make_night"]

# Folders whose sub-folders each hold many short clips of one source (the spoken
# digits: 100 clips of 0.3-0.6 s per speaker): the sub-folder is the recording.
_CLIP_FOLDERS = ("speech-digits",)
# Background categories that hold speech: the components of babble.
_SPEECH = ("speech", "speech-digits")
_GAP_S = 0.2  # silence between the short clips of one group, as between words
# A crop of a cry quieter than this (RMS, share of the clip's loudest crop, i.e.
# 20 dB down) is the pause between cry units, not a cry.
_QUIET_CROP = 0.1
_BABBLE_TALKERS = (3, 5)
# Share of each speech recording (its end) kept out of the negatives to build
# babble from: babble then shares no audio with any other window.
_BABBLE_SHARE = 1 / 3
_BABBLE_SPREAD_DB = 6.0  # talkers of one babble window differ by up to this
_RMS_FLOOR = 1e-5  # -100 dBFS: an SNR relative to digital silence is undefined
_EVENT_GAP_S = 10.0  # between two cry events of a night
_EDGE_S = 2.0  # no cry within this of a night's start or end
_FADE_S = 0.02  # raised-cosine fades where two background recordings meet
_NIGHT_PEAK = 10 ** (-1 / 20)  # a night whose mix would clip is scaled to -1 dBFS


def _check_pair(name, value):
    """``(low, high)`` as floats, or a ParameterError that says what is wrong."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a (low, high) pair, got {value!r}") from None
    if not low <= high:
        raise ParameterError(f"{name} must be (low, high) with low <= high, got {value!r}")
    return low, high


def _seconds(path):
    try:
        info = sf.info(str(path))
    except (RuntimeError, TypeError, ValueError) as exc:  # sf.LibsndfileError included
        raise AudioLoadError(path, f"is not readable audio ({exc}); convert it to WAV, "
                             "FLAC or OGG, or remove it from the folder") from exc
    return info.frames / info.samplerate


def load_background(root):
    """List a folder of background (non-cry) recordings with their groups.

    The folder holds one sub-folder per category (``household/``, ``music/``,
    ``speech/``, ...), as ``shared/data/background`` does. Under
    ``speech-digits/<speaker>/`` lie many short clips of one speaker: they are one
    recording (one group), and :func:`make_detection_set` and :func:`make_night`
    join them.

    Parameters
    ----------
    root : str or path-like
        The folder; searched recursively for ``AUDIO_EXTENSIONS`` files.

    Returns
    -------
    data : Bunch
        ``paths`` (list of str, sorted); ``groups`` (ndarray of str: the recording
        of each file, its path relative to ``root``, or ``speech-digits/<speaker>``
        for a spoken digit); ``categories`` (ndarray of str: the first folder
        under ``root``, ``""`` for a file directly in it); ``seconds`` (ndarray
        of float: each file's length).

    Raises
    ------
    DatasetError
        If ``root`` is not a folder or holds no audio.
    AudioLoadError
        If a file's header cannot be read.

    See Also
    --------
    make_detection_set, make_night : take its ``paths`` and ``groups``.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ["noise/hiss.flac", "speech-digits/ann/0_ann_0.flac",
    ...              "speech-digits/ann/1_ann_0.flac"]:
    ...     (root / name).parent.mkdir(parents=True, exist_ok=True)
    ...     sf.write(root / name, np.zeros(4000), 8000)
    >>> data = load_background(root)
    >>> data.groups.tolist()
    ['noise/hiss.flac', 'speech-digits/ann', 'speech-digits/ann']
    >>> data.categories.tolist(), data.seconds.tolist()
    (['noise', 'speech-digits', 'speech-digits'], [0.5, 0.5, 0.5])
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; point to the folder of background "
                           "recordings (one sub-folder per category)")
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise DatasetError(
            f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) found; point to "
            "the folder that holds the background recordings")
    groups, categories = [], []
    for path in files:
        parts = path.relative_to(root).parts
        categories.append(parts[0] if len(parts) > 1 else "")
        if parts[0] in _CLIP_FOLDERS and len(parts) > 2:
            groups.append("/".join(parts[:2]))
        else:
            groups.append("/".join(parts))
    return Bunch(paths=[str(p) for p in files], groups=np.asarray(groups),
                 categories=np.asarray(categories),
                 seconds=np.asarray([_seconds(p) for p in files]))


# --------------------------------------------------------------------------- #
# reading


def _read(path, *, sr, max_bandwidth):
    """The whole of one file, at ``sr``, band-limited."""
    return load_audio(path, sr=sr, duration=max(_seconds(path), 1.0 / sr),
                      max_bandwidth=max_bandwidth)


def _read_group(paths, *, sr, max_bandwidth):
    """One recording: the files of a group joined with ``_GAP_S`` of silence."""
    if len(paths) == 1:
        return _read(paths[0], sr=sr, max_bandwidth=max_bandwidth)
    gap = np.zeros(int(round(_GAP_S * sr)), np.float32)
    parts = []
    for path in paths:
        parts += [_read(path, sr=sr, max_bandwidth=max_bandwidth), gap]
    return np.concatenate(parts[:-1])


def _background_table(background_paths, background_groups, background_categories):
    """``{group: (category, [paths])}``, groups and paths sorted.

    A group's category is given, or the first part of a ``load_background`` group
    (``music/piano.flac`` -> ``music``), or the file's folder name.
    """
    paths = [str(p) for p in background_paths]
    if not paths:
        raise DatasetError("no background recordings given; pass the paths of "
                           "non-cry audio (sk_cry.datasets.load_background lists a "
                           "folder of them)")
    n = len(paths)
    groups = paths if background_groups is None else [str(g) for g in background_groups]
    if len(groups) != n:
        raise ParameterError(f"{n} background paths but {len(groups)} background_groups;"
                             " pass one group per path (load_background's groups)")
    if background_categories is None:
        categories = [g.split("/")[0] if background_groups is not None and "/" in g
                      else Path(p).parent.name for g, p in zip(groups, paths)]
    else:
        categories = [str(c) for c in background_categories]
        if len(categories) != n:
            raise ParameterError(f"{n} background paths but {len(categories)} "
                                 "background_categories; pass one per path")
    table = {}
    for path, group, category in sorted(zip(paths, groups, categories)):
        table.setdefault(group, (category, []))[1].append(path)
    return dict(sorted(table.items()))


def _cry_list(cry_paths):
    paths = [str(p) for p in cry_paths]
    if not paths:
        raise DatasetError("no cry clips given; pass the paths of cry recordings "
                           "(sk_cry.datasets.load_folder lists a folder of them)")
    return paths


# --------------------------------------------------------------------------- #
# signal arithmetic


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _starts(n_samples, n_win, n_hop):
    """Window starts: every ``n_hop`` while a whole window fits (at least one)."""
    return np.arange(0, max(n_samples - n_win, 0) + 1, n_hop)


def _window(audio, start, n_win):
    """``audio[start:start + n_win]``, padded with silence at the end."""
    piece = audio[start:start + n_win]
    return np.pad(piece, (0, n_win - piece.size)) if piece.size < n_win else piece.copy()


def _mix(background, cry, snr_db):
    """``background + cry``, the cry scaled to ``snr_db`` above the background (RMS)."""
    gain = max(_rms(background), _RMS_FLOOR) / max(_rms(cry), _RMS_FLOOR)
    return background + cry * np.float32(gain * 10 ** (snr_db / 20))


def _at_peak(x, dbfs):
    """``x`` scaled so that its peak is ``dbfs`` (silence stays silence)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return x if peak == 0 else (x * np.float32(10 ** (dbfs / 20) / peak)).astype(np.float32)


# --------------------------------------------------------------------------- #
# make_detection_set


def _cry_crops(path, *, n_win, sr, max_bandwidth):
    """Crops of ``n_win`` samples every ``n_win``, pauses dropped: a list."""
    clip = _read(path, sr=sr, max_bandwidth=max_bandwidth)
    crops = [_window(clip, s, n_win) for s in _starts(clip.size, n_win, n_win)]
    loud = max(_rms(c) for c in crops)
    return [c for c in crops if _rms(c) >= _QUIET_CROP * loud and _rms(c) > 0]


def _babble(reserve, rng, n_win):
    """Babble windows, each the sum of 3-5 reserved windows of distinct talkers.

    ``reserve``: ``{group: [(start, window), ...]}``; each window goes into one
    babble window at most. Returns the babble windows, and the reserved
    ``(group, start, window)`` left over when fewer than 3 talkers remain.
    """
    pools = {g: list(ws) for g, ws in reserve.items() if ws}
    babble = []
    while len(pools) >= _BABBLE_TALKERS[0]:
        k = min(rng.randint(_BABBLE_TALKERS[0], _BABBLE_TALKERS[1] + 1), len(pools))
        names = sorted(pools)
        # talkers with more left are drawn more often, so that few are left over
        left = np.array([len(pools[g]) for g in names], float)
        chosen = rng.choice(len(names), size=k, replace=False, p=left / left.sum())
        mix = np.zeros(n_win, np.float32)
        for i in chosen:
            _, part = pools[names[i]].pop()
            level = 10 ** (-rng.uniform(0, _BABBLE_SPREAD_DB) / 20)
            mix += part * np.float32(level / max(_rms(part), _RMS_FLOOR))
            if not pools[names[i]]:
                del pools[names[i]]
        babble.append(mix)
    return babble, [(g, s, w) for g, ws in pools.items() for s, w in ws]


@validate_params(
    {
        "cry_paths": ["array-like"],
        "background_paths": ["array-like"],
        "out_dir": [str, os.PathLike],
        "background_groups": ["array-like", None],
        "background_categories": ["array-like", None],
        "window": [Interval(Real, 0, None, closed="neither")],
        "hop": [Interval(Real, 0, None, closed="neither")],
        "sr": [Interval(Integral, 1000, None, closed="left")],
        "max_bandwidth": [Interval(Real, 0, None, closed="neither"), None],
        "snr_db": ["array-like"],
        "level_dbfs": ["array-like"],
        "babble": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_detection_set(
    cry_paths, background_paths, out_dir, *, background_groups=None,
    background_categories=None, window=2.0, hop=1.0, sr=SR, max_bandwidth=4000.0,
    snr_db=(-5.0, 20.0), level_dbfs=(-35.0, -3.0), babble=True, random_state=None,
):
    """Write a cry-detection training set: cry windows (1) against background (0).

    Every source is read at ``sr`` and band-limited to ``max_bandwidth`` (8-kHz
    cries and 16-kHz background then have one band, so the band cannot give the
    label away). Then:

    - **negatives**: each background recording (a group: the files of one
      ``background_groups`` value, joined with 0.2 s of silence between them, as
      the spoken digits of one speaker) is cut into windows of ``window`` seconds
      every ``hop`` seconds; the last partial window is dropped, a recording
      shorter than one window is padded with silence;
    - **babble** (``babble=True``): hard negatives, each the sum of 3-5 talkers
      from distinct speech groups (categories ``speech`` and ``speech-digits``).
      They are made from the last third of each speech recording, which is kept
      out of the plain negatives, and each piece of it goes into one babble
      window only; so a babble window shares no audio with any other window and
      is a group of its own, ``"babble-<k>"``. Needs at least 3 speech groups;
      reserved pieces left over become plain negatives of their group;
    - **positives**: each cry clip is cut into crops of ``window`` seconds every
      ``window`` seconds, crops whose RMS is below 10 % of the clip's loudest
      crop (a pause between cry units) dropped. Each clip is given to one
      background group (round robin over the groups, both shuffled), and every
      crop is added to a random negative window of that group at an SNR drawn
      uniformly from ``snr_db`` (RMS of the crop over RMS of the window). A
      positive's group is that background group: a cry clip and the audio under
      it stay on one side of every grouped split. The same background audio is
      also among the negatives of that group, so a model must learn the cry,
      not the room. Where a crop is quiet for a second or more, ``audit`` finds
      that second in both classes ("overlapping audio, different classes, same
      group"): harmless under a split by ``groups``, which keeps both on one
      side (measured on 60 seed-cry clips: 5 of 173 cry windows at ``hop=1``,
      none at ``hop=2``).

    Every window is then scaled to a peak level drawn uniformly from
    ``level_dbfs``, one distribution for both classes, and written as 16-bit PCM
    WAV at ``sr``: ``out_dir/cry/cry_<i>.wav`` and
    ``out_dir/background/background_<i>.wav``, with ``out_dir/windows.csv``
    (``file,target,group,category,snr_db``). Each window is written as soon as
    it is made: memory holds one background recording (and the speech kept for
    babble) at a time.

    Parameters
    ----------
    cry_paths : sequence of str or path-like
        Cry clips (any rate libsndfile reads).
    background_paths : sequence of str or path-like
        Background (non-cry) recordings, e.g. ``load_background(root).paths``.
    out_dir : str or path-like
        Folder to write into; its ``cry/`` and ``background/`` sub-folders must
        not hold audio yet.
    background_groups : array-like of shape (n_background,) or None, default=None
        Recording of each background file (``load_background(root).groups``);
        files of one group are joined. None: every file is its own recording.
    background_categories : array-like of shape (n_background,) or None, default=None
        Category of each background file (``load_background(root).categories``).
        None: the part of the group before its first ``/`` (the layout of
        ``load_background``), or, without groups, the file's folder name.
    window : float, default=2.0
        Window length in seconds.
    hop : float, default=1.0
        Seconds between the starts of two background windows. With ``hop <
        window`` neighbouring windows share audio (in one group): ``audit`` lists
        each such pair as overlapping audio of one class.
    sr : int, default=16000
        Sampling rate of the files written.
    max_bandwidth : float or None, default=4000.0
        Content above this frequency (Hz) is removed from every source; None
        keeps each source's own band (and lets the band give the label away when
        cries and background were recorded at different rates).
    snr_db : (float, float), default=(-5.0, 20.0)
        Range of the cry-to-background ratio of the positives, in dB.
    level_dbfs : (float, float), default=(-35.0, -3.0)
        Range of the peak level of every window, in dB below full scale.
    babble : bool, default=True
        Whether to add babble windows (see above).
    random_state : int, RandomState instance or None, default=None
        The same value gives the same files.

    Returns
    -------
    data : Bunch
        One entry per written window, in the order written (group by group,
        its background windows then its cries; babble last): ``paths`` (list
        of str); ``target`` (ndarray of int, 1 = cry); ``target_names``
        (``array(["background", "cry"])``); ``groups`` (ndarray of str, the
        background group, or ``"babble-<k>"``); ``categories`` (ndarray of
        str: the background category, ``"babble"`` or ``"cry"``); ``snr_db`` (ndarray of float, NaN for negatives); ``cry_file`` (ndarray
        of str, the cry clip of a positive, ``""`` otherwise); ``start``
        (ndarray of float, where the background of the window starts in its
        group's joined audio, seconds; NaN for babble).

    Raises
    ------
    DatasetError
        If there are no cry clips or no background recordings, no cry holds
        sound, or ``out_dir`` already holds a set.
    ParameterError
        If ``background_groups`` or ``background_categories`` does not have one
        entry per background path, or a range is not ``(low, high)``.
    AudioLoadError
        If a file cannot be read.

    See Also
    --------
    load_background : lists a background folder with its groups.
    make_night : long recordings with cries at known times, for testing.
    sk_cry.evaluation.audit : checks the result for shortcuts.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile
    >>> from pathlib import Path
    >>> from sk_cry.datasets import make_cries
    >>> tmp = Path(tempfile.mkdtemp())
    >>> X, _ = make_cries(2, sr=8000, duration=2.0, random_state=0)
    >>> cries = [tmp / f"cry_{i}.wav" for i in range(2)]
    >>> for path, x in zip(cries, X):
    ...     sf.write(path, x, 8000)
    >>> noise = np.random.default_rng(0).normal(0, 0.1, 16000 * 5)
    >>> sf.write(tmp / "hiss.flac", noise, 16000)
    >>> data = make_detection_set(cries, [tmp / "hiss.flac"], tmp / "set",
    ...                           babble=False, random_state=0)
    >>> np.bincount(data.target).tolist()  # 4 windows of background, 2 of cry
    [4, 2]
    >>> set(data.groups) == {str(tmp / "hiss.flac")}
    True
    >>> sf.info(data.paths[-1]).samplerate, sf.info(data.paths[-1]).duration
    (16000, 2.0)
    """
    cry_paths = _cry_list(cry_paths)
    table = _background_table(background_paths, background_groups, background_categories)
    snr_db = _check_pair("snr_db", snr_db)
    level_dbfs = _check_pair("level_dbfs", level_dbfs)
    rng = check_random_state(random_state)
    out = Path(out_dir)
    folders = {0: out / "background", 1: out / "cry"}
    for folder in folders.values():
        if folder.is_dir() and any(p.suffix.lower() in AUDIO_EXTENSIONS
                                   for p in folder.iterdir()):
            raise DatasetError(f"{folder}: already holds audio (an earlier set?); "
                               "write into an empty folder, or delete this one")
        folder.mkdir(parents=True, exist_ok=True)
    n_win, n_hop = int(round(window * sr)), max(1, int(round(hop * sr)))
    read = dict(sr=sr, max_bandwidth=max_bandwidth)

    # each cry clip to one background group: round robin, both shuffled
    group_names = list(table)
    order = [group_names[i] for i in rng.permutation(len(group_names))]
    cries_of = {g: [] for g in group_names}
    for k, i in enumerate(rng.permutation(len(cry_paths))):
        cries_of[order[k % len(order)]].append(cry_paths[i])

    rows = []  # (path, target, group, category, snr, cry file, start), one per file
    counts = {0: 0, 1: 0}

    def write(wave, target, group, category, snr=np.nan, cry="", start=np.nan):
        folder = folders[target]
        path = folder / f"{folder.name}_{counts[target]:05d}.wav"
        counts[target] += 1
        sf.write(path, _at_peak(wave, rng.uniform(*level_dbfs)), sr, subtype="PCM_16")
        rows.append((str(path), target, group, category, snr, cry, start))

    reserve = {}  # speech kept for babble: {group: [(start, window), ...]}
    for group, (category, paths) in table.items():
        audio = _read_group(paths, **read)
        end = audio.size
        if babble and category in _SPEECH and audio.size >= 2 * n_win:
            # the last third (at least one window) is kept for babble only
            end = audio.size - max(n_win, int(audio.size * _BABBLE_SHARE))
            reserve[group] = [(s, _window(audio, s, n_win))
                              for s in _starts(audio.size - end, n_win, n_win) + end]
        starts = _starts(end, n_win, n_hop)
        for start in starts:
            write(_window(audio, start, n_win), 0, group, category, start=start / sr)
        # crops of this group's cries, each into a random window of its negatives
        for cry in cries_of[group]:
            crops = _cry_crops(cry, n_win=n_win, **read)
            picks = rng.choice(starts, size=len(crops), replace=len(crops) > starts.size)
            for crop, start in zip(crops, picks):
                snr = rng.uniform(*snr_db)
                write(_mix(_window(audio, start, n_win), crop, snr), 1, group, "cry",
                      snr, cry, start / sr)
        del audio
    if not counts[1]:
        raise DatasetError(f"none of the {len(cry_paths)} cry clips holds sound (all "
                           f"are digital silence); check the cry paths, and delete "
                           f"the background windows already written to {out}")
    if babble:
        windows, leftover = _babble(reserve, rng, n_win)
        for group, start, wave in leftover:  # too few talkers left to mix them with
            write(wave, 0, group, table[group][0], start=start / sr)
        for k, wave in enumerate(windows):
            write(wave, 0, f"babble-{k}", "babble")

    paths, target, groups, categories, snrs, cry_files, starts = map(list, zip(*rows))
    with open(out / "windows.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "target", "group", "category", "snr_db"])
        for path, t, g, c, s in zip(paths, target, groups, categories, snrs):
            writer.writerow([Path(path).relative_to(out).as_posix(), t, g, c,
                             "" if np.isnan(s) else f"{s:.2f}"])
    return Bunch(paths=paths, target=np.asarray(target),
                 target_names=np.asarray(["background", "cry"]),
                 groups=np.asarray(groups), categories=np.asarray(categories),
                 snr_db=np.asarray(snrs, float), cry_file=np.asarray(cry_files),
                 start=np.asarray(starts, float))


# --------------------------------------------------------------------------- #
# make_night


def _fade(x, n):
    """Raised-cosine fade-in and fade-out of ``n`` samples, in place."""
    n = min(n, x.size // 2)
    if n:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))).astype(np.float32)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def _night_background(table, n_total, rng, level_dbfs, read):
    """Background recordings in random order at random levels, looped to fill."""
    night = np.zeros(n_total, np.float32)
    groups, pos, order = list(table), 0, []
    while pos < n_total:
        if not order:
            order = [groups[i] for i in rng.permutation(len(groups))]
        audio = _read_group(table[order.pop()][1], **read)[:n_total - pos]
        audio = _fade(_at_peak(audio, rng.uniform(*level_dbfs)), int(_FADE_S * read["sr"]))
        night[pos:pos + audio.size] = audio
        pos += audio.size
    return night


def _free_ms(lengths, n_total, sr):
    """Milliseconds left over when events of ``lengths`` samples are placed as
    closely as allowed (negative: they do not fit), and their lengths in ms."""
    ms = np.ceil(np.asarray(lengths) * 1000 / sr).astype(np.int64)
    used = 2 * _EDGE_S * 1000 + ms.sum() + _EVENT_GAP_S * 1000 * (ms.size - 1)
    return int(n_total * 1000 // sr - used), ms


def _events(lengths, n_total, sr, rng):
    """Onsets (samples) of events of ``lengths`` samples, in this order, placed
    uniformly at random with ``_EVENT_GAP_S`` between them and ``_EDGE_S`` from
    the ends: the free time is split at sorted uniform points.

    The onsets fall on whole milliseconds, so that the annotations (3 decimals)
    are exact, to within one sample.
    """
    free, ms = _free_ms(lengths, n_total, sr)
    cuts = np.sort(rng.randint(0, free + 1, size=ms.size, dtype=np.int64))
    gap_ms = _EVENT_GAP_S * 1000 * np.arange(ms.size)
    onsets_ms = _EDGE_S * 1000 + np.concatenate([[0], np.cumsum(ms)[:-1]]) + gap_ms + cuts
    return np.round(onsets_ms * sr / 1000).astype(np.int64)


@validate_params(
    {
        "cry_paths": ["array-like"],
        "background_paths": ["array-like"],
        "out_dir": [str, os.PathLike],
        "background_groups": ["array-like", None],
        "n_nights": [Interval(Integral, 1, None, closed="left")],
        "duration": [Interval(Real, 0, None, closed="neither")],
        "cries_per_hour": [Interval(Real, 0, None, closed="left")],
        "cry_clips": ["array-like"],
        "snr_db": ["array-like"],
        "level_dbfs": ["array-like"],
        "sr": [Interval(Integral, 1000, None, closed="left")],
        "max_bandwidth": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_night(
    cry_paths, background_paths, out_dir, *, background_groups=None, n_nights=1,
    duration=600.0, cries_per_hour=12, cry_clips=(1, 3), snr_db=(-5.0, 20.0),
    level_dbfs=(-35.0, -3.0), sr=SR, max_bandwidth=4000.0, random_state=None,
):
    """Write long test recordings ("nights") of background with cries at known times.

    Each night is the background recordings (groups joined as in
    :func:`make_detection_set`) one after another in random order, each at a
    random peak level from ``level_dbfs``, with 20-ms fades where they meet,
    looped until ``duration`` seconds. Into it go
    ``max(1, round(cries_per_hour * duration / 3600))`` cry events, each 1-3
    (``cry_clips``) cry clips back to back, at random times at least 10 s apart
    and at least 2 s from either end, each at an SNR drawn uniformly from
    ``snr_db``: the RMS of the event over the RMS of the background under it.
    Every source is read at ``sr`` and band-limited to ``max_bandwidth``. If a
    loud cry would clip, the whole night is scaled down to a peak of -1 dBFS
    (SNRs kept). One night is held in memory at a time (an hour at 16 kHz:
    230 MB).

    Parameters
    ----------
    cry_paths : sequence of str or path-like
        Cry clips; each event draws its clips from them, all clips used before
        one is used again.
    background_paths : sequence of str or path-like
        Background (non-cry) recordings, e.g. ``load_background(root).paths``.
    out_dir : str or path-like
        Folder to write ``night_<k>.flac`` and ``annotations.csv`` into.
    background_groups : array-like of shape (n_background,) or None, default=None
        Recording of each background file; files of one group are joined.
    n_nights : int, default=1
    duration : float, default=600.0
        Length of each night in seconds.
    cries_per_hour : float, default=12
        Rate of cry events. If they do not fit (10 s apart), fewer are placed.
    cry_clips : (int, int), default=(1, 3)
        Least and most clips per event (inclusive).
    snr_db : (float, float), default=(-5.0, 20.0)
    level_dbfs : (float, float), default=(-35.0, -3.0)
        Range of the peak level of each background recording, dBFS.
    sr : int, default=16000
    max_bandwidth : float or None, default=4000.0
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : Bunch
        ``paths`` (list of str, one FLAC file per night: 16-bit, mono, ``sr``);
        ``annotations`` (list of dict with ``file`` (the night's file name),
        ``onset`` and ``offset`` (seconds, 3 decimals), ``label`` (``"cry"``) and
        ``snr_db``); ``annotations_csv`` (str: ``out_dir/annotations.csv``, with
        the header ``file,onset,offset,label,snr_db``).

    Raises
    ------
    DatasetError
        If there are no cry clips or no background recordings, or a night is too
        short to hold one event 2 s from either end.
    ParameterError
        If ``background_groups`` does not have one entry per path, or a range is
        not ``(low, high)``.
    AudioLoadError
        If a file cannot be read.

    See Also
    --------
    make_detection_set : the matching training windows.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile
    >>> from pathlib import Path
    >>> from sk_cry.datasets import make_cries
    >>> tmp = Path(tempfile.mkdtemp())
    >>> X, _ = make_cries(1, sr=8000, duration=3.0, random_state=0)
    >>> sf.write(tmp / "cry.wav", X[0], 8000)
    >>> noise = np.random.default_rng(0).normal(0, 0.1, 16000 * 7)
    >>> sf.write(tmp / "hiss.flac", noise, 16000)
    >>> night = make_night([tmp / "cry.wav"], [tmp / "hiss.flac"], tmp / "nights",
    ...                    duration=20.0, cry_clips=(1, 1), random_state=0)
    >>> sf.info(night.paths[0]).duration, len(night.annotations)
    (20.0, 1)
    >>> event = night.annotations[0]
    >>> 2.0 <= event["onset"] and event["offset"] <= 18.0
    True
    >>> round(event["offset"] - event["onset"], 3)
    3.0
    """
    cry_paths = _cry_list(cry_paths)
    table = _background_table(background_paths, background_groups, None)
    low, high = _check_pair("cry_clips", cry_clips)
    if low < 1 or low != int(low) or high != int(high):
        raise ParameterError(f"cry_clips must be two whole numbers >= 1, got {cry_clips!r}")
    snr_db = _check_pair("snr_db", snr_db)
    level_dbfs = _check_pair("level_dbfs", level_dbfs)
    rng = check_random_state(random_state)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    read = dict(sr=sr, max_bandwidth=max_bandwidth)
    n_total = int(round(duration * sr))
    n_events = max(1, int(round(cries_per_hour * duration / 3600)))
    deck = []  # cry clips still to use before any is used again
    paths, annotations = [], []
    for night_index in range(n_nights):
        # the events first: their lengths decide how many fit
        events = []
        for _ in range(n_events):
            clips = []
            for _ in range(rng.randint(int(low), int(high) + 1)):
                if not deck:
                    deck = [cry_paths[i] for i in rng.permutation(len(cry_paths))]
                clips.append(_read(deck.pop(), **read))
            events.append(np.concatenate(clips))
        if _free_ms([events[0].size], n_total, sr)[0] < 0:
            raise DatasetError(
                f"a night of {duration:g} s cannot hold a cry event of "
                f"{events[0].size / sr:.1f} s {_EDGE_S:g} s from either end; make "
                f"duration longer than {events[0].size / sr + 2 * _EDGE_S:g} s or "
                "cry_clips smaller")
        while _free_ms([e.size for e in events], n_total, sr)[0] < 0:
            events.pop()  # too many for the night: fewer, not closer
        night = _night_background(table, n_total, rng, level_dbfs, read)
        onsets = _events([e.size for e in events], n_total, sr, rng)
        name = f"night_{night_index}.flac"
        placed = []
        for onset, event in zip(onsets, events):
            snr = rng.uniform(*snr_db)
            span = slice(onset, onset + event.size)
            night[span] = _mix(night[span], event, snr)
            placed.append((onset, onset + event.size, snr))
        peak = float(np.max(np.abs(night)))
        if peak > _NIGHT_PEAK:
            night *= np.float32(_NIGHT_PEAK / peak)
        sf.write(out / name, night, sr, format="FLAC", subtype="PCM_16")
        del night
        paths.append(str(out / name))
        annotations += [dict(file=name, onset=round(float(a) / sr, 3),
                             offset=round(float(b) / sr, 3),
                             label="cry", snr_db=round(float(s), 2)) for a, b, s in placed]
    annotations_csv = out / "annotations.csv"
    with open(annotations_csv, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "onset", "offset", "label", "snr_db"])
        for a in annotations:
            writer.writerow([a["file"], f"{a['onset']:.3f}", f"{a['offset']:.3f}",
                             a["label"], f"{a['snr_db']:.2f}"])
    return Bunch(paths=paths, annotations=annotations,
                 annotations_csv=str(annotations_csv))
