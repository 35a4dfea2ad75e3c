"""Feature extraction: the reference per-clip loop vs sk_cry's loader + extractors.

The reference loop: ``librosa.load`` each file, then one STFT for the MFCCs and
another for the log-mel map. sk_cry: the CNN pipeline's first two steps,
``AudioLoader(n_jobs=2)`` then ``MFCCMelExtractor(n_jobs=2)`` (one float32
STFT per clip for both maps). Prints seconds, each sk_cry stage's share and the
speed-up ratio, all measured in the same run (best of ``--repeats``, alternating).

    python benchmarks/features.py            # the 453 seed-cry clips
    python benchmarks/features.py --smoke    # 8 synthetic clips
"""

import argparse
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np

from _common import SEED_CRY, load_seed_cry, machine
from sk_cry import make_cnn_pipeline
from sk_cry.datasets import load_folder, make_cries, write_folder


def reference_features(paths, sr=16000, duration=6.0):
    """The reference notebook's loop, one clip at a time."""
    mfccs, mels = [], []
    n = int(sr * duration)
    for path in paths:
        y, _ = librosa.load(path, sr=sr, duration=duration)
        y = librosa.util.fix_length(y, size=n)
        mfccs.append(librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13))
        mels.append(librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr),
                                        ref=np.max))
    return np.stack(mfccs), np.stack(mels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SEED_CRY)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    print(f"# features: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            X, y = make_cries(8, duration=6.0, random_state=0)
            paths = load_folder(write_folder(X, y, tmp, sr=16000)).paths
            args.repeats = 1
        else:
            train, test = load_seed_cry(args.data)
            paths = train.paths + test.paths
        pipe = make_cnn_pipeline(n_jobs=2)
        loader, extractor = pipe.named_steps["loader"], pipe.named_steps["features"]
        ref_t, load_t, feat_t = [], [], []
        for _ in range(args.repeats):  # alternate, so both see the same machine state
            start = time.perf_counter()
            mfccs, mels = reference_features(paths)
            ref_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            waves = loader.fit_transform(paths)
            load_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            ours = extractor.fit_transform(waves)
            feat_t.append(time.perf_counter() - start)
    ours_t = np.add(load_t, feat_t)
    n_mfcc = 13 * mfccs.shape[2]
    np.testing.assert_allclose(ours[:, :n_mfcc], mfccs.reshape(len(paths), -1),
                               rtol=1e-3, atol=0.05)
    np.testing.assert_allclose(ours[:, n_mfcc:], mels.reshape(len(paths), -1), atol=0.05)
    ref, best = min(ref_t), int(np.argmin(ours_t))
    mine = ours_t[best]
    per_clip = 1000 / len(paths)
    print(f"{len(paths)} clips, best of {args.repeats}: reference loop {ref:.2f} s "
          f"({ref * per_clip:.2f} ms/clip), sk_cry {mine:.2f} s "
          f"({mine * per_clip:.2f} ms/clip: loading {load_t[best] * per_clip:.2f}, "
          f"features {feat_t[best] * per_clip:.2f}); speed-up {ref / mine:.1f}x "
          "(same features: checked)")


if __name__ == "__main__":
    main()
