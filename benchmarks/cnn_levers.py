"""Which levers make the CNN earn its place where the recording source cannot help.

Two setups of seed-cry (as in ``honest_eval.py``):

(c) the five non-hungry reasons, one 16-kHz source, one copy of each duplicate
    (217 clips, chance 0.20): only the cry can tell the classes apart;
(b) hungry vs other with every clip band-limited to 4 kHz (453 clips).

Every row is ``sk_cry.evaluate`` on the same seeded, stratified 5-fold split
(the clips carry no baby ids, so the folds cannot be grouped): pooled balanced
accuracy with its 95 % bootstrap interval and permutation p-value, the weights
of the model, and the seconds of fitting per fold. The rows:

- ``dummy``, ``svm`` (the default SVM baseline), ``svm-nested`` (``C`` and
  ``gamma`` chosen by an inner 3-fold grid search on each training fold);
- ``cnn``: ``make_cnn_pipeline(random_state=0)`` trained for at most 40 epochs
  with early-stopping patience 8, the base every lever changes;
- one row per lever, each a fixed setting: ``plain`` (no SpecAugment, no
  mixup), ``wave-aug`` (two audiomentations copies of every training clip:
  gain, noise, time shift, pitch shift, time stretch; in (b) the copies are
  band-limited again, as the loader does), ``narrow`` (8
  filters), ``mfcc-only`` and ``mel-only`` (one branch), ``pcen`` (the mel map
  per-channel energy normalised, ``librosa.pcen``, instead of in dB),
  ``deltas`` (MFCCs with their deltas and delta-deltas, 39 bands), ``smooth``
  (label smoothing 0.1), ``long`` (100 epochs under the cosine schedule,
  patience 20: the CNN's default, chosen by ``cnn-grid``), ``wave-aug-long``
  (``wave-aug`` on ``long``),
  ``seeds`` (soft vote of 3 seeds), ``stack`` (CNN and SVM stacked by a
  logistic regression on inner 3-fold probabilities);
- nested searches, inner 3-fold on the training folds only, the outer folds
  scoring what they picked: ``cnn-halving`` (``HalvingGridSearchCV`` over the
  settings that are CNN parameters: base, plain, narrow, smooth, long) and
  ``cnn-grid`` (``GridSearchCV``, base vs long, every candidate on the full
  inner folds). Each prints the setting it picked per fold. A fixed-setting row
  that scores well is a measurement, not a choice: it was read off the scored
  folds. Only a nested row can justify a new default.

    python benchmarks/cnn_levers.py                         # both setups, all rows
    python benchmarks/cnn_levers.py --setups c --rows dummy,svm,cnn,plain
    python benchmarks/cnn_levers.py --smoke                 # tiny synthetic stand-in

The permutation p-value permutes labels against the pooled out-of-fold
predictions (``evaluate``'s default). Needs ``pip install audiomentations`` for
``wave-aug``.
"""

import argparse
import importlib
import random
import tempfile
import time

import keras
import librosa
import numpy as np
from joblib import Memory
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from _common import SEED_CRY, all_seed_cry, machine, seed_cry_setups
from honest_eval import _smoke
from sk_cry import (
    AudioLoader,
    CryCNNClassifier,
    FeatureScaler,
    MelExtractor,
    MFCCExtractor,
    MFCCMelExtractor,
    audit,
    evaluate,
    make_cnn_pipeline,
    make_svm_pipeline,
)
from sk_cry.features import band_layout
from sk_cry.io import band_limit
from sk_cry.models import CryPipeline

importlib.import_module("sklearn.experimental.enable_halving_search_cv")
from sklearn.model_selection import (  # noqa: E402  (experimental: enabled above)
    GridSearchCV,
    HalvingGridSearchCV,
    StratifiedKFold,
)

ROWS = ("dummy", "svm", "svm-nested", "cnn", "plain", "wave-aug", "narrow", "mfcc-only",
        "mel-only", "pcen", "deltas", "smooth", "long", "wave-aug-long", "seeds", "stack",
        "cnn-halving", "cnn-grid")

# the levers that are parameters of the CNN step, as pipeline parameters
LEVERS = {
    "plain": {"cnn__augment": False, "cnn__mixup": 0.0},
    "narrow": {"cnn__filters": 8},
    "smooth": {"cnn__loss": keras.losses.CategoricalCrossentropy,
               "cnn__loss__label_smoothing": 0.1},
    "long": {"cnn__epochs": 100, "cnn__n_iter_no_change": 20},
}


class Picked:
    """Mixin for a search: print the setting it picked on each outer fold."""

    def fit(self, X, y=None, **params):
        super().fit(X, y, **params)
        picked = {k.split("__", 1)[-1]: getattr(v, "__name__", v)
                  for k, v in self.best_params_.items()}
        print(f"    picked {picked} (inner {self.best_score_:.3f})", flush=True)
        return self


class PickedGrid(Picked, GridSearchCV):
    pass


class PickedHalving(Picked, HalvingGridSearchCV):
    pass


class WaveAugmented(ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on its training clips plus ``n_copies`` augmented copies.

    The clips are decoded by the pipeline's own loader; each copy goes through
    an audiomentations chain (gain, Gaussian noise at 15-40 dB SNR, time shift,
    pitch shift of up to 2 semitones, time stretch of up to 10 %, each with
    probability 0.5), band-limited again if the loader band-limits. Predictions are the fitted pipeline's, on the clips as
    they are.
    """

    def __init__(self, estimator, n_copies=2, random_state=0):
        self.estimator = estimator
        self.n_copies = n_copies
        self.random_state = random_state

    def fit(self, X, y):
        from audiomentations import (AddGaussianSNR, Compose, Gain, PitchShift, Shift,
                                     TimeStretch)

        loader = self.estimator.named_steps["loader"]
        waves = clone(loader).fit(X).transform(X)
        random.seed(self.random_state)  # audiomentations draws from both
        np.random.seed(self.random_state)
        chain = Compose([
            Gain(min_gain_db=-6, max_gain_db=6, p=0.5),
            AddGaussianSNR(min_snr_db=15, max_snr_db=40, p=0.5),
            Shift(min_shift=-0.1, max_shift=0.1, p=0.5),
            PitchShift(min_semitones=-2, max_semitones=2, p=0.5),
            TimeStretch(min_rate=0.9, max_rate=1.1, leave_length_unchanged=True, p=0.5),
        ])
        copies = [chain(w, sample_rate=loader.sr) for _ in range(self.n_copies)
                  for w in waves]
        if loader.max_bandwidth:  # noise and pitch shifts reach above the band
            copies = [band_limit(c, loader.sr, loader.max_bandwidth) for c in copies]
        X_all = np.vstack([waves, np.asarray(copies, np.float32)])
        self.estimator_ = clone(self.estimator).fit(X_all, np.tile(y, 1 + self.n_copies))
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class PCENExtractor(MFCCMelExtractor):
    """The MFCC map as the default; the mel map per-channel energy normalised
    (``librosa.pcen`` with its defaults, on the power scaled by 2**31 as its
    documentation advises for float audio) instead of in dB below the peak."""

    def _map_into(self, clip, out, work):
        n_mfcc = self.get_band_counts()[0]
        peak = super()._map_into(clip, out, work)  # the MFCCs, and the bad-clip check
        work.power(clip, out[n_mfcc:])
        out[n_mfcc:] = librosa.pcen(out[n_mfcc:] * 2.0**31, sr=self.sr,
                                    hop_length=self.hop_length)
        return peak


class DeltaExtractor(MFCCMelExtractor):
    """The MFCCs, their deltas and delta-deltas (``librosa.feature.delta``, width
    9) stacked as one 3 x ``n_mfcc``-band map for the MFCC branch, then the
    log-mel map."""

    def _bands(self):
        n_mfcc, n_mels = band_layout(self.n_mfcc, self.n_mels)
        return [("mfcc_deltas", 3 * n_mfcc), ("mel", n_mels)]

    def _map_into(self, clip, out, work):
        n_mfcc, n_mels = band_layout(self.n_mfcc, self.n_mels)
        base = np.empty((n_mfcc + n_mels, out.shape[1]), np.float32)
        peak = super()._map_into(clip, base, work)
        mfccs = base[:n_mfcc]
        out[:n_mfcc] = mfccs
        out[n_mfcc:2 * n_mfcc] = librosa.feature.delta(mfccs, order=1)
        out[2 * n_mfcc:3 * n_mfcc] = librosa.feature.delta(mfccs, order=2)
        out[3 * n_mfcc:] = base[n_mfcc:]
        return peak


def _custom(extractor, loader_kw, **cnn):
    """A CNN pipeline with one branch per map of ``extractor``."""
    input_bands = tuple(extractor.get_band_counts())
    return CryPipeline([
        ("loader", AudioLoader(**loader_kw)),
        ("features", extractor),
        ("scaler", FeatureScaler(n_bands=sum(input_bands))),
        ("cnn", CryCNNClassifier(input_bands=input_bands, **cnn)),
    ], memory=extractor.memory)


def make_rows(wanted, *, duration, band, memory, smoke):
    """``{row: (description, estimator factory)}`` for the wanted rows."""
    common = dict(duration=duration, max_bandwidth=band, memory=memory, n_jobs=2)
    cnn_kw = dict(epochs=2 if smoke else 40, n_iter_no_change=8, random_state=0)
    if smoke:  # a tiny fit in graph mode goes mostly on tracing: 3x slower
        cnn_kw["run_eagerly"] = True
    inner = StratifiedKFold(2 if smoke else 3, shuffle=True, random_state=0)

    def cnn(**params):
        return make_cnn_pipeline(**common, **cnn_kw).set_params(**params)

    def svm_nested():
        grid = {"clf__estimator__C": [0.3, 1, 3, 10],
                "clf__estimator__gamma": ["scale", 0.01, 0.03, 0.1]}
        return PickedGrid(make_svm_pipeline(**common), grid, cv=inner,
                          scoring="balanced_accuracy")

    def cnn_search(levers, halving):
        grid = [{"cnn__random_state": [0]}] + [
            {k: [v] for k, v in LEVERS[lever].items()} for lever in levers]
        if halving:
            return PickedHalving(cnn(), grid, cv=inner, factor=3, resource="n_samples",
                                 scoring="balanced_accuracy", random_state=0,
                                 error_score=np.nan)
        return PickedGrid(cnn(), grid, cv=inner, scoring="balanced_accuracy",
                          error_score=np.nan)

    loader_kw = dict(sr=16000, duration=duration, max_bandwidth=band, n_jobs=2)
    feature_kw = dict(sr=16000, n_jobs=2, memory=memory)
    rows = {
        "dummy": ("dummy (most frequent)", lambda: DummyClassifier(strategy="most_frequent")),
        "svm": ("SVM, default", lambda: make_svm_pipeline(**common)),
        "svm-nested": ("SVM, C and gamma by inner 3-fold search", svm_nested),
        "cnn": ("CNN, 40 epochs, patience 8", cnn),
        **{key: (f"CNN, {key}: " + ", ".join(f"{k[5:]}={getattr(v, '__name__', v)}"
                                              for k, v in params.items()),
                 lambda params=params: cnn(**params))
           for key, params in LEVERS.items()},
        "wave-aug": ("CNN + 2 audiomentations copies per clip",
                     lambda: WaveAugmented(cnn())),
        "mfcc-only": ("CNN, MFCC branch only", lambda: _custom(
            MFCCExtractor(**feature_kw), loader_kw, **cnn_kw)),
        "mel-only": ("CNN, log-mel branch only", lambda: _custom(
            MelExtractor(**feature_kw), loader_kw, **cnn_kw)),
        "pcen": ("CNN, mel map by PCEN instead of dB", lambda: _custom(
            PCENExtractor(**feature_kw), loader_kw, **cnn_kw)),
        "deltas": ("CNN, MFCCs with deltas and delta-deltas", lambda: _custom(
            DeltaExtractor(**feature_kw), loader_kw, **cnn_kw)),
        "wave-aug-long": ("CNN, long + 2 audiomentations copies per clip",
                          lambda: WaveAugmented(cnn(**LEVERS["long"]))),
        "seeds": ("CNN, soft vote of 3 seeds", lambda: VotingClassifier(
            [(f"seed{s}", cnn(cnn__random_state=s)) for s in range(3)], voting="soft")),
        "stack": ("CNN + SVM, stacked (logistic regression, inner 3-fold)",
                  lambda: StackingClassifier(
                      [("cnn", cnn()), ("svm", make_svm_pipeline(**common))],
                      final_estimator=LogisticRegression(class_weight="balanced"),
                      cv=inner, stack_method="predict_proba")),
        "cnn-halving": ("CNN, setting by inner halving search (base, plain, narrow, "
                        "smooth, long)", lambda: cnn_search(LEVERS, halving=True)),
        "cnn-grid": ("CNN, setting by inner grid search (base, long)",
                     lambda: cnn_search(["long"], halving=False)),
    }
    return {key: rows[key] for key in wanted}


def n_weights(model, X, y):
    """Stored numbers of ``model`` fitted on all of ``X``: network weights, or the
    SVM's support vectors times their dimension, summed over ensemble members."""
    if isinstance(model, DummyClassifier):
        return len(np.unique(y))
    if isinstance(model, (GridSearchCV, HalvingGridSearchCV)):
        return None  # the setting differs from fold to fold
    if isinstance(model, (VotingClassifier, StackingClassifier)):
        return sum(n_weights(m, X, y) for _, m in model.estimators)
    if isinstance(model, WaveAugmented):
        return n_weights(model.estimator, X, y)
    last = model.steps[-1][1]
    if hasattr(last, "input_bands"):  # a CNN: count the built network, no training
        from sk_cry.models import build_residual_cnn

        hop = model.named_steps["features"].hop_length
        n_frames = 1 + model.named_steps["loader"].n_samples // hop
        shapes = [(b, n_frames) for b in last.input_bands]
        params = last.get_params()
        kw = {k: params[k] for k in ("filters", "n_blocks", "kernel_size", "stem_kernel",
                                     "stem_stride", "pooling", "dense_units", "dropout",
                                     "block_bias")}
        return build_residual_cnn(shapes, len(np.unique(y)), **kw).count_params()
    fitted = clone(model).fit(X, y)[-1]
    svc = fitted.calibrated_classifiers_[0].estimator
    return int(svc.support_vectors_.size)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=str, default=str(SEED_CRY))
    parser.add_argument("--setups", default="cb", help="any of c, b")
    parser.add_argument("--rows", default=",".join(ROWS), help=", ".join(ROWS))
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    wanted = args.rows.split(",")
    unknown = set(wanted) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)}; choose from {', '.join(ROWS)}")
    print(f"# cnn_levers: {machine()}", flush=True)
    folds = 5
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            paths, y, duration = _smoke(tmp, n_clips=120)
            folds = 2
        else:
            (paths, y), duration = all_seed_cry(args.data), 6.0
        report = audit(paths, y, n_jobs=2)
        setups = seed_cry_setups(report, paths, y)
        for key in args.setups:
            name, X, labels, band = setups[key]
            memory = Memory(f"{tmp}/cache-{key}", verbose=0)
            print(f"\n## {name}: {len(X)} clips, {len(np.unique(labels))} classes",
                  flush=True)
            rows = make_rows(wanted, duration=duration, band=band, memory=memory,
                             smoke=args.smoke)
            for row, (description, make) in rows.items():
                start = time.perf_counter()
                result = evaluate(make(), X, labels, cv=folds, random_state=0)
                weights = n_weights(make(), X, labels)
                print(f"  {row} [{description}] ({time.perf_counter() - start:.0f} s): "
                      f"{result}; weights {weights}", flush=True)
                table.append((name, description, result, weights))
    print("\n| setup | model | balanced accuracy, pooled (folds) | 95 % CI | p | weights "
          "| fit s/fold |")
    print("|---|---|---|---|---|---|---|")
    for name, description, r, weights in table:
        scores = " ".join(f"{s:.2f}" for s in r.balanced_accuracy_folds)
        print(f"| {name[:3]} | {description} | {r.balanced_accuracy:.3f} ({scores}) | "
              f"{r.ci[0]:.2f}-{r.ci[1]:.2f} | {r.p_value:.3f} | "
              f"{'varies' if weights is None else f'{weights:,}'} | "
              f"{np.mean(r.fit_time):.0f} |")


if __name__ == "__main__":
    main()
