"""Run an exported model without TensorFlow, scikit-learn or librosa.

Imports numpy, soundfile, soxr and ``ai_edge_litert`` only (``pip install
"sk-cry[runtime]"`` on the device)::

    from sk_cry import runtime
    model = runtime.load("cry.skcry-bundle")
    model.predict(["clip.wav"])
    for r in model.predict_windows(["night.wav"], window=6.0, hop=3.0):
        print(r.label, [(w.start, w.label) for w in r.windows])
    for w in model.listen(runtime.microphone()):   # pip install "sk-cry[listen]"
        print(w.start, w.label)
"""

from .._lazy import attach

# on first use: the feature extractors import the front end's filter-bank
# blocks from here without loading LiteRT
__getattr__, __dir__, __all__ = attach(__name__, {
    "._model": ["BundleModel", "load"], "._sources": ["microphone", "played"],
    "._detect": ["Detection"], "._default": ["default_detector", "DEFAULT_DETECTOR"],
    "._records": ["SILENCE_DBFS", "FilePrediction", "Recording", "Window"]})
