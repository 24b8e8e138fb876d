"""Regenerate the tiny models of a foreign input contract the error tests load (needs TensorFlow).

python tests/data/odd_models/make.py  ->  shape32.tflite (input 32x32), int32.tflite (int32 input)
"""

from pathlib import Path

import keras
import tensorflow as tf

HERE = Path(__file__).resolve().parent


def tiny(shape: tuple[int, ...], dtype: str) -> keras.Model:
    inputs = keras.Input(shape, dtype=dtype)
    x = keras.layers.Flatten()(keras.ops.cast(inputs, "float32"))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Dense(2)(x)))


for name, shape, dtype in (("shape32", (32, 32), "float32"), ("int32", (28, 28), "int32")):
    keras.utils.set_random_seed(0)
    (HERE / f"{name}.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(tiny(shape, dtype)).convert())
