"""A LiteRT copy of a fitted Keras network, for predictions of a few clips.

TensorFlow's graph runtime takes 2-5 ms for one clip through the default network,
most of it handing each small operation to its thread pool and back; LiteRT's
interpreter runs the same frozen network on the calling thread in 0.2-0.7 ms with
the same outputs to about 1e-6 (``benchmarks/choices.py``). The estimator asks
:func:`lite_copy` for the copy; everything about making and refreshing it is here.
"""

import threading
import warnings
import weakref

import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)

# Networks of at most EXPORT_MAX_WEIGHTS weights get a copy: the limit of export,
# for the same reason (converting takes 0.4-0.9 s for the default network's 24 k,
# 2 s for 1.8 M, and 55 s and 7 GB of memory for the reference's 51 M, measured
# 2026-11-26); a larger network keeps ``Model.predict``.
from ._export import EXPORT_MAX_WEIGHTS

__all__ = ["lite_copy"]

# model -> its LiteRT copy; kept outside the estimator (predict must not change
# it, a pickle must not carry it) and weakly keyed, so it goes with the model
_COPIES = weakref.WeakKeyDictionary()
# held while a copy is made: threads whose first predictions arrive together wait
# for one conversion (0.4-2 s) instead of each making its own
_MAKING = threading.Lock()


def _training_steps(model):
    """How many optimizer steps ``model`` has taken: a copy of its weights made at
    another count is stale."""
    optimizer = getattr(model, "optimizer", None)
    # int() of the tf.Variable: 35 us, half of Keras's .numpy()
    return None if optimizer is None else int(optimizer.iterations.value)


def to_flatbuffer(model, representative=None):
    """``model(inputs, training=False)`` with frozen weights, as LiteRT bytes.

    The inputs are named ``input_0``, ``input_1``, ... in the order of
    ``model.inputs``, and the batch dimension is left free. With
    ``representative`` (a list of input arrays, one row per clip, as the model
    takes them) the network is quantized after training: int8 weights and
    activations, each activation's range read off those clips, float32 inputs
    and outputs (LiteRT's own quantize and dequantize at the ends), float
    kernels where an operation has no int8 one.
    """
    specs = [tf.TensorSpec(x.shape, x.dtype, name=f"input_{i}")
             for i, x in enumerate(model.inputs)]
    # no autograph: a plain call has no Python control flow to convert (and
    # autograph cannot find a lambda's source, which it says in a warning)
    function = tf.function(lambda parts: model(parts, training=False), autograph=False)
    # converting the unfrozen function gave garbage from the first convolution on
    frozen = convert_variables_to_constants_v2(function.get_concrete_function(specs))
    # a frozen function holds no variables: an empty module is all the converter
    # needs to take its current (not its deprecated, warning) path
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
    if representative is not None:
        def clips():  # by input name: the converted graph orders its inputs its way
            for i in range(len(representative[0])):
                yield {f"input_{k}": part[i:i + 1]
                       for k, part in enumerate(representative)}

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = clips
    with warnings.catch_warnings():
        # TensorFlow's calibrator runs the clips on its own deprecated interpreter
        warnings.filterwarnings("ignore", r"\s*Warning: tf.lite.Interpreter is "
                                "deprecated")
        return converter.convert()


class _LiteNetwork:
    """One interpreter over :func:`to_flatbuffer`'s network, one call at a time."""

    def __init__(self, model):
        interpreter = Interpreter(model_content=to_flatbuffer(model), num_threads=1)
        self._run = interpreter.get_signature_runner()  # inputs by name: input_0, ...
        self._lock = threading.Lock()  # an interpreter serves one call at a time
        self.training_steps = _training_steps(model)

    def __call__(self, parts):
        with self._lock:
            outputs = self._run(**{f"input_{i}": part for i, part in enumerate(parts)})
        (output,) = outputs.values()  # a copy, not the interpreter's buffer
        return output


def lite_copy(model):
    """A callable ``parts -> softmax`` running ``model`` on LiteRT, or None.

    Made at the first call for a model and made anew once the model has trained
    further (its optimizer's step count changed: ``partial_fit``, a warm-started
    ``fit``, ``model.fit``); not after weights are assigned by hand. None for a
    network of more than ``EXPORT_MAX_WEIGHTS`` weights (export's limit).
    """
    copy = _COPIES.get(model, False)
    if copy is None or (copy and copy.training_steps == _training_steps(model)):
        return copy  # the usual case: no lock taken
    with _MAKING:
        copy = _COPIES.get(model, False)  # another thread may have made it meanwhile
        if copy is False:
            # 0.3 ms: asked once
            too_large = model.count_params() > EXPORT_MAX_WEIGHTS
            copy = _COPIES[model] = None if too_large else _LiteNetwork(model)
        elif copy is not None and copy.training_steps != _training_steps(model):
            copy = _COPIES[model] = _LiteNetwork(model)
    return copy
