"""Run an exported model without TensorFlow, scikit-learn or librosa.

Imports numpy, soundfile, soxr, ducc0 and ``ai_edge_litert`` only (``pip install
sk-cry`` on the device)::

    from sk_cry import runtime
    model = runtime.load("cry.skcry-bundle")
    model.predict(["clip.wav"])
    for r in model.predict_windows(["night.wav"], window=6.0, hop=3.0):
        print(r.label, [(w.start, w.label) for w in r.windows])
    for w in model.listen(runtime.microphone()):   # pip install "sk-cry[listen]"
        print(w.start, w.label)
"""

from .._lazy import attach

# Each name loads its module on first use: the window and event records (which
# the training side's predict_files, predict_windows and detect share) and the
# bundle writer (sk_cry.export's) come without LiteRT.
__getattr__, __dir__, __all__ = attach(__name__, {
    "._model": ["BundleModel", "load"], "._sources": ["microphone", "played"],
    "._detect": ["Detection", "ReasonModel", "check_rules", "detect_windows",
                 "positive_column", "window_probabilities"],
    "._default": ["default_detector", "DEFAULT_DETECTOR"],
    "._bundle": ["FORMAT_VERSION", "write_bundle"],
    "._settings": ["read_settings", "write_settings"],
    "._records": ["SILENCE_DBFS", "FilePrediction", "Recording", "Window",
                  "check_windowing", "classify_windows", "file_predictions",
                  "load_or_error", "on_frame_grid"]})
