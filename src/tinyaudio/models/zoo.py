"""The model zoo: plain Keras 3 builder functions, each citing where it comes from.

Every builder takes ``input_shape = (n_frames, n_features, 1)`` and ``n_outputs``: the number
of classes for a softmax head, or 1 for a sigmoid one-keyword detector.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
from keras import layers

from tinyaudio.errors import ConfigError


def _head(x, n_outputs: int):
    """Dense output: sigmoid for one output (binary detector), softmax otherwise."""
    activation = "sigmoid" if n_outputs == 1 else "softmax"
    return layers.Dense(n_outputs, activation=activation, name="output")(x)


def cnn_mfcc(input_shape: tuple[int, int, int], n_outputs: int) -> keras.Model:
    """The classic small MFCC CNN: Conv2D 8 3x3 -> MaxPool 2x2 -> Flatten -> Dense 16 -> output.

    Designed for a (100, 13, 1) MFCC input (preset ``mfcc_13x100``).

    Source: the "MFCC + small CNN" keyword-spotting recipe of embedded-ML courses
    (e.g. Edge Impulse's default "Keyword spotting" NN block, HarvardX TinyML).
    """
    inputs = keras.Input(input_shape, name="features")
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    return keras.Model(inputs, _head(x, n_outputs), name="cnn_mfcc")


def cnn3(input_shape: tuple[int, int, int], n_outputs: int, *, dropout: float = 0.5) -> keras.Model:
    """Three conv blocks: 3 x [Conv2D 2x2 (32, 32, 64) + ReLU + MaxPool 2x2] -> Dense 64 -> Dropout.

    With ``n_outputs=1`` the head is a single sigmoid: the one-keyword detector.

    Source: the Keras "small convnet" (Chollet, "Building powerful image classification models
    using very little data", 2016) as used for spectrogram keyword detectors.
    """
    inputs = keras.Input(input_shape, name="features")
    x = inputs
    for filters in (32, 32, 64):
        x = layers.Conv2D(filters, 2, activation="relu", padding="same")(x)
        x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, _head(x, n_outputs), name="cnn3")


def cnn_resize32(
    input_shape: tuple[int, int, int],
    n_outputs: int,
    *,
    mean: float = 0.0,
    variance: float = 1.0,
    dropout: float = 0.25,
    hidden: int = 28,
) -> keras.Model:
    """Resizing 32x32 -> Normalization -> Conv2D 8 8x8 stride 2 -> MaxPool -> Dropout -> Dense (~15 K params).

    Args:
        mean, variance: of the training features, for the Normalization layer (the trainer passes them).
        hidden: width of the hidden Dense layer; 28 gives about 15 K parameters for 12 classes.

    Source: TensorFlow "Simple audio recognition" tutorial (Resizing + Normalization front),
    shrunk to a single 8x8 stride-2 convolution for microcontrollers.
    """
    inputs = keras.Input(input_shape, name="features")
    x = layers.Resizing(32, 32)(inputs)
    x = layers.Normalization(axis=None, mean=mean, variance=variance)(x)
    x = layers.Conv2D(8, 8, strides=2, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(hidden, activation="relu")(x)
    return keras.Model(inputs, _head(x, n_outputs), name="cnn_resize32")


def tiny_conv(input_shape: tuple[int, int, int], n_outputs: int, *, dropout: float = 0.2) -> keras.Model:
    """TFLite Micro ``micro_speech`` model: Conv2D 8 10x8 stride 2 + ReLU -> Dropout -> Dense.

    Source: TensorFlow ``speech_commands/models.py`` ``create_tiny_conv_model`` (Warden),
    the model behind the TFLM micro_speech example.
    """
    inputs = keras.Input(input_shape, name="features")
    kh, kw = min(10, input_shape[0]), min(8, input_shape[1])
    x = layers.Conv2D(8, (kh, kw), strides=2, activation="relu", padding="same")(inputs)
    x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, _head(x, n_outputs), name="tiny_conv")


def _bn_relu(x, momentum: float):
    """BatchNorm then ReLU (folded into the preceding convolution on conversion)."""
    return layers.ReLU()(layers.BatchNormalization(momentum=momentum)(x))


def _ds_blocks(x, width: int, n_blocks: int, bn_momentum: float, *, causal_time: bool = False):
    """DS-CNN's body: ``n_blocks`` x [depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU].

    ``causal_time``: pad the frequency axis only (ZeroPadding2D) and convolve time "valid", so a
    block's output frame depends on the frames up to it (`ds_cnn_stream`); else "same" padding.
    """
    for _ in range(n_blocks):
        if causal_time:
            x = layers.ZeroPadding2D(((0, 0), (1, 1)))(x)
        x = _bn_relu(layers.DepthwiseConv2D(3, padding="valid" if causal_time else "same")(x), bn_momentum)
        x = _bn_relu(layers.Conv2D(width, 1)(x), bn_momentum)
    return x


def ds_cnn(
    input_shape: tuple[int, int, int],
    n_outputs: int,
    *,
    width: int = 64,
    n_blocks: int = 4,
    bn_momentum: float = 0.9,
    dropout: float = 0.4,
) -> keras.Model:
    """DS-CNN-S: Conv 10x4 stride 2 -> n_blocks x [depthwise 3x3 + pointwise 1x1] -> AvgPool -> Dense.

    Every convolution is followed by BatchNorm and ReLU. About 24.8 K parameters for 10 classes
    on a (49, 10) or (49, 13) input.

    Args:
        width: channels of every layer (64 in the paper's S model).
        bn_momentum: 0.9 rather than Keras' 0.99: on a few thousand clips the slow moving
            averages left validation at chance for many epochs.

    Source: Zhang et al. 2017, "Hello Edge: Keyword Spotting on Microcontrollers",
    arXiv:1711.07128, table 2 (DS-CNN-S); layer order as the MLPerf Tiny KWS reference.
    """
    inputs = keras.Input(input_shape, name="features")
    x = _bn_relu(layers.Conv2D(width, (10, 4), strides=2, padding="same", use_bias=True)(inputs), bn_momentum)
    x = layers.Dropout(dropout / 2)(x)
    x = _ds_blocks(x, width, n_blocks, bn_momentum)
    x = layers.Dropout(dropout)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, _head(x, n_outputs), name="ds_cnn")


def ds_cnn_stream(
    input_shape: tuple[int, int, int],
    n_outputs: int,
    *,
    width: int = 64,
    n_blocks: int = 4,
    bn_momentum: float = 0.9,
    dropout: float = 0.4,
) -> keras.Model:
    """DS-CNN whose time axis streams: `ds_cnn`'s layers with "valid" (causal) time padding.

    Conv 9x4 or 10x4 stride 2x2 -> n_blocks x [depthwise 3x3 + pointwise 1x1] -> average over
    frequency per frame -> average over the remaining frames -> Dense. Frequency keeps "same"
    padding (explicit ZeroPadding2D); time is never padded, so each output frame of a layer depends
    on the input frames up to it only, and a stream computes one new output frame per layer for
    every two new feature frames (`tinyaudio.quantize.streaming.step_model`). The first kernel's
    height is 10 (as DS-CNN) or 9, whichever leaves an even number of frames after it, so that the
    last output frame ends at the newest input frame: on (49, 10) the layers see 21, 19, ..., 13
    frames and their receptive fields cover all 49. About 24.8 K parameters for 10 classes (as
    `ds_cnn`), 1.74 M MACs per window on (49, 10) (ds_cnn: 2.66 M), about 6 % of them per step.

    Source: Zhang et al. 2017 (DS-CNN-S, arXiv:1711.07128), made streamable as in Rybakov et al.
    2020, "Streaming keyword spotting on mobile devices", Interspeech (google-research
    kws_streaming: valid time padding, the global pool replaced by one that streams).
    """
    inputs = keras.Input(input_shape, name="features")
    n_frames, n_features = input_shape[0], input_shape[1]
    k_time = 10 - (n_frames - 10) % 2
    left = (n_frames - k_time) // 2 + 1  # frames after the first convolution; each block's 3-tap conv takes 2
    if left < 2 * n_blocks + 1:
        raise ConfigError(f"ds_cnn_stream: {n_frames} frames leave {left} after the first convolution; "
                          f"{n_blocks} blocks need {2 * n_blocks + 1}: use more frames (a shorter hop) or fewer blocks")
    # Frequency "same" padding for a width-4, stride-2 kernel (as TensorFlow pads: extra on the right).
    total = max(4 - (n_features % 2 or 2), 0)
    x = layers.ZeroPadding2D(((0, 0), (total // 2, total - total // 2)))(inputs)
    x = _bn_relu(layers.Conv2D(width, (k_time, 4), strides=(2, 2), padding="valid", use_bias=True)(x), bn_momentum)
    x = layers.Dropout(dropout / 2)(x)
    x = _ds_blocks(x, width, n_blocks, bn_momentum, causal_time=True)
    x = layers.AveragePooling2D((1, x.shape[2]))(x)
    x = layers.Dropout(dropout)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, _head(x, n_outputs), name="ds_cnn_stream")


def tc_resnet(
    input_shape: tuple[int, int, int],
    n_outputs: int,
    *,
    width_multiplier: float = 0.5,
    blocks_per_stage: int = 1,
    dropout: float = 0.2,
    bn_momentum: float = 0.9,
) -> keras.Model:
    """TC-ResNet8: 1-D temporal convolutions with the features as channels, three residual blocks.

    The (n_frames, n_features) input is read as n_frames steps of n_features channels (a RESHAPE to
    (n_frames, 1, n_features)), so every convolution runs along time only: Conv 3x1 (16 k) ->
    3 x [Conv 9x1 stride 2 -> BN -> ReLU -> Conv 9x1 -> BN, plus a 1x1 stride-2 shortcut -> BN ->
    ReLU; add; ReLU] with 24 k, 32 k, 48 k channels -> global average pool -> Dropout -> Dense.
    About 16 K parameters at ``width_multiplier=0.5`` on 10 MFCCs (66 K at 1.0 on 40, as the paper).

    Args:
        width_multiplier: k, scales every layer's channels (the paper's TC-ResNet8-1.5 is 1.5).
        blocks_per_stage: residual blocks per channel stage; the first of a stage has stride 2
            and the 1x1 shortcut, the others stride 1 and an identity shortcut (2: TC-ResNet14).

    Source: Choi et al. 2019, "Temporal Convolution for Real-time Keyword Spotting on Mobile
    Devices", Interspeech, fig. 2 and table 1 (TC-ResNet8).
    """
    n_frames, n_features = input_shape[0], input_shape[1]
    channels = [max(1, round(c * width_multiplier)) for c in (16, 24, 32, 48)]

    def conv_bn(x, filters, kernel, strides=1, relu=True):
        x = layers.Conv2D(filters, (kernel, 1), strides=(strides, 1), padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
        return layers.ReLU()(x) if relu else x

    inputs = keras.Input(input_shape, name="features")
    x = layers.Reshape((n_frames, 1, n_features))(inputs)
    x = conv_bn(x, channels[0], 3, relu=False)
    for filters in channels[1:]:
        for block in range(blocks_per_stage):
            stride = 2 if block == 0 else 1
            y = conv_bn(conv_bn(x, filters, 9, strides=stride), filters, 9, relu=False)
            shortcut = conv_bn(x, filters, 1, strides=2) if block == 0 else x
            x = layers.ReLU()(layers.Add()([y, shortcut]))
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, _head(x, n_outputs), name="tc_resnet")


def bc_resnet(
    input_shape: tuple[int, int, int],
    n_outputs: int,
    *,
    width_multiplier: float = 1.0,
    depth_multiplier: float = 1.0,
    dropout: float = 0.1,
    bn_momentum: float = 0.9,
) -> keras.Model:
    """BC-ResNet: broadcasted residual blocks, 2-D frequency convolutions plus 1-D temporal ones.

    Input (n_frames, n_features, 1), best a log-mel spectrogram. Conv 5x5 (16 t) stride 2 along
    frequency -> stages of BC blocks with 8 t, 12 t, 16 t, 20 t channels (2, 2, 4, 4 blocks;
    frequency halved entering stages 2 and 3) -> depthwise 5x5 -> Conv 1x1
    (32 t) -> global average pool -> Dense. A BC block: a frequency-wise depthwise 1x3 conv + BN
    (f2); its average over frequency, a temporal depthwise 3x1 conv + BN + ReLU and a 1x1
    conv (f1, shape (T, 1, C)); output ReLU(x + f2 + f1), f1 broadcast over frequency (ADD with
    broadcasting). A transition block (channels or frequency change) first applies a 1x1 conv + BN
    + ReLU (its stride halves frequency) and has no identity term. About 9 K parameters at
    ``width_multiplier=1`` for 12 classes on 40 log-mel bands (BC-ResNet-1).

    Differences from the paper, so that every op has an int8 kernel in TFLite Micro and in the
    generated C: BatchNorm instead of SubSpectral Norm (5 sub-bands), ReLU instead of Swish, and
    no time dilation (the paper's 1, 2, 4, 8 per stage): the TFLite converter turns a dilated
    depthwise convolution on a (T, 1, C) tensor into SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND.

    Args:
        width_multiplier: t, scales every layer's channels (BC-ResNet-t).
        depth_multiplier: scales the blocks of each stage (2, 2, 4, 4), at least one each.

    Source: Kim et al. 2021, "Broadcasted Residual Learning for Efficient Keyword Spotting",
    Interspeech, fig. 2 and table 1.
    """
    width = lambda c: max(1, round(c * width_multiplier))  # noqa: E731

    def bn(x):
        return layers.BatchNormalization(momentum=bn_momentum)(x)

    def bc_block(x, filters: int, transition: bool, freq_stride: int):
        if transition:
            x = layers.ReLU()(bn(layers.Conv2D(filters, 1, strides=(1, freq_stride), use_bias=False)(x)))
        f2 = bn(layers.DepthwiseConv2D((1, 3), padding="same", use_bias=False)(x))
        f1 = layers.AveragePooling2D((1, f2.shape[2]))(f2)
        f1 = layers.ReLU()(bn(layers.DepthwiseConv2D((3, 1), padding="same", use_bias=False)(f1)))
        f1 = layers.Dropout(dropout)(layers.Conv2D(filters, 1, use_bias=False)(f1))
        out = f2 + f1 if transition else x + f2 + f1
        return layers.ReLU()(out)

    inputs = keras.Input(input_shape, name="features")
    x = layers.ReLU()(bn(layers.Conv2D(width(16), 5, strides=(1, 2), padding="same", use_bias=False)(inputs)))
    channels = width(16)
    for stage, (filters, n_blocks) in enumerate(zip((8, 12, 16, 20), (max(1, round(n * depth_multiplier)) for n in (2, 2, 4, 4)))):
        for i in range(n_blocks):
            freq_stride = 2 if i == 0 and stage in (1, 2) and x.shape[2] > 2 else 1
            transition = i == 0 and (width(filters) != channels or freq_stride > 1)
            x = bc_block(x, width(filters), transition, freq_stride)
            channels = width(filters)
    x = layers.DepthwiseConv2D(5, padding="same", use_bias=False)(x)
    x = layers.ReLU()(bn(layers.Conv2D(width(32), 1, use_bias=False)(x)))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, _head(x, n_outputs), name="bc_resnet")


@keras.saving.register_keras_serializable(package="tinyaudio")
class CosineHead(layers.Layer):
    """Cosines between the L2-normalised input and ``units`` L2-normalised class centres.

    Input float (batch, dim); output float (batch, units) in [-1, 1]: the logits of a
    margin-based softmax (`tinyaudio.train.losses.aam_softmax_loss`) before scale and margin.
    Training-only: the exported embedding model stops at this layer's input.

    Source: Deng et al. 2019, "ArcFace: Additive Angular Margin Loss for Deep Face
    Recognition", CVPR (the normalised weight matrix W of eq. 3).
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")

    def call(self, x):
        x = x / keras.ops.maximum(keras.ops.norm(x, axis=-1, keepdims=True), 1e-12)
        w = self.kernel / keras.ops.maximum(keras.ops.norm(self.kernel, axis=0, keepdims=True), 1e-12)
        return keras.ops.matmul(x, w)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="tinyaudio")
class GE2EHead(layers.Layer):
    """The GE2E similarity matrix of a batch of ``n_speakers`` x ``n_utterances`` embeddings.

    Input float (n_speakers * n_utterances, dim), rows grouped by speaker (speaker j's
    utterances are rows j*M .. j*M+M-1). Output float (n_speakers * n_utterances, n_speakers):
    ``S[ji, k] = w * cos(e_ji, c_k) + b`` with ``c_k`` the mean of speaker k's embeddings, or,
    for k = j, the mean of the other M-1 (the utterance itself left out); ``w > 0`` (its absolute
    value is used) and ``b`` are learnt, initialised to 10 and -5. Softmax cross-entropy of row
    ``ji`` against class ``j`` is the GE2E softmax loss. Training-only, like `CosineHead`.

    Source: Wan et al. 2018, "Generalized End-to-End Loss for Speaker Verification", ICASSP,
    eqs. 5, 6, 8 and 9.
    """

    def __init__(self, n_speakers: int, n_utterances: int, **kwargs):
        super().__init__(**kwargs)
        if n_utterances < 2:
            raise ConfigError(f"GE2E needs at least 2 utterances per speaker in a batch, got {n_utterances}")
        self.n_speakers, self.n_utterances = int(n_speakers), int(n_utterances)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(), initializer=keras.initializers.Constant(10.0), name="w")
        self.b = self.add_weight(shape=(), initializer=keras.initializers.Constant(-5.0), name="b")

    def call(self, x):
        ops = keras.ops
        n, m = self.n_speakers, self.n_utterances

        def unit(v):
            return v / ops.maximum(ops.norm(v, axis=-1, keepdims=True), 1e-12)

        e = ops.reshape(unit(x), (n, m, -1))
        total = ops.sum(e, axis=1)  # (n, dim)
        cos_all = ops.einsum("nmd,kd->nmk", e, unit(total / m))
        cos_self = ops.sum(e * unit((total[:, None, :] - e) / (m - 1)), axis=-1)  # (n, m)
        own = ops.one_hot(ops.arange(n), n)[:, None, :]  # (n, 1, n)
        cos = cos_all * (1.0 - own) + cos_self[..., None] * own
        return ops.reshape(ops.abs(self.w) * cos + self.b, (n * m, n))

    def get_config(self):
        return {**super().get_config(), "n_speakers": self.n_speakers, "n_utterances": self.n_utterances}


def speaker_embedding_model(name: str, input_shape: tuple[int, int, int], n_speakers: int, *,
                            embedding_dim: int = 128, ge2e_utterances: int | None = None, **kwargs) -> keras.Model:
    """A zoo backbone with a linear ``embedding`` layer and a `CosineHead` over the training speakers.

    The backbone is the zoo model ``name`` up to the input of its ``output`` layer (for
    ``ds_cnn`` the global average pool); ``Dense(embedding_dim)`` (no activation) follows, then
    ``CosineHead(n_speakers)`` named ``output``, or with ``ge2e_utterances`` a
    ``GE2EHead(n_speakers, ge2e_utterances)`` (``n_speakers`` is then the speakers per batch).
    The embedding a run exports is the input of ``output``: shape (embedding_dim,).

    Source: the x-vector / ResNet speaker-embedding layout (a pooled trunk, then a linear
    embedding layer trained through a speaker classifier): Snyder et al. 2018, ICASSP;
    Deng et al. 2019 for the cosine head.
    """
    backbone = build_model(name, input_shape, 2, **kwargs)
    x = layers.Dense(embedding_dim, name="embedding")(backbone.get_layer("output").input)
    head = (GE2EHead(n_speakers, ge2e_utterances, name="output") if ge2e_utterances
            else CosineHead(n_speakers, name="output"))
    return keras.Model(backbone.inputs, head(x), name=f"{backbone.name}_speaker")


MODELS: dict[str, Callable[..., keras.Model]] = {
    "cnn_mfcc": cnn_mfcc,
    "cnn3": cnn3,
    "cnn_resize32": cnn_resize32,
    "tiny_conv": tiny_conv,
    "ds_cnn": ds_cnn,
    "ds_cnn_stream": ds_cnn_stream,
    "tc_resnet": tc_resnet,
    "bc_resnet": bc_resnet,
}


#: Each family's builder arguments that `scaled_kwargs` sets from a width and a depth multiplier:
#: (width argument, its value at multiplier 1, depth argument, its value at multiplier 1).
#: A ``None`` argument means the family has no such knob.
SCALABLE: dict[str, tuple[str | None, float, str | None, float]] = {
    "ds_cnn": ("width", 64, "n_blocks", 4),
    "ds_cnn_stream": ("width", 64, "n_blocks", 4),
    "tc_resnet": ("width_multiplier", 0.5, "blocks_per_stage", 1),
    "bc_resnet": ("width_multiplier", 1.0, "depth_multiplier", 1.0),
}


def scaled_kwargs(name: str, width_multiplier: float = 1.0, depth_multiplier: float = 1.0) -> dict[str, Any]:
    """Builder arguments of zoo model ``name`` scaled by ``width_multiplier`` (channels) and
    ``depth_multiplier`` (blocks), as EfficientNet / MobileNet multipliers; ``{}`` at 1 and 1.

    Channel and block counts are rounded to whole numbers (at least 1); ``ds_cnn`` at width 0.5 has
    32 channels, at depth 0.5 two blocks.

    Raises:
        ConfigError: a multiplier other than 1 for a family without that knob (`SCALABLE`), or <= 0.
    """
    if width_multiplier <= 0 or depth_multiplier <= 0:
        raise ConfigError(f"width_multiplier={width_multiplier}, depth_multiplier={depth_multiplier}: both must be > 0")
    if (width_multiplier, depth_multiplier) == (1.0, 1.0):
        return {}
    width_arg, width_base, depth_arg, depth_base = SCALABLE.get(name, (None, 1, None, 1))
    out: dict[str, Any] = {}
    for what, multiplier, arg, base in (("width", width_multiplier, width_arg, width_base),
                                        ("depth", depth_multiplier, depth_arg, depth_base)):
        if multiplier == 1.0:
            continue
        if arg is None:
            raise ConfigError(f"model {name!r} has no {what} knob; {what}_multiplier works for {sorted(SCALABLE)}")
        out[arg] = max(1, round(base * multiplier)) if isinstance(base, int) else base * multiplier
    return out


def build_model(name: str, input_shape: tuple[int, int, int], n_outputs: int, **kwargs) -> keras.Model:
    """Build a zoo model by name.

    Raises:
        ValueError: unknown name (the message lists the zoo).
    """
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name](tuple(input_shape), n_outputs, **kwargs)


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates of one inference, counting Conv2D, DepthwiseConv2D and Dense layers.

    Conv2D: out_h * out_w * k_h * k_w * c_in * c_out; depthwise: out_h * out_w * k_h * k_w * c_in;
    Dense: n_in * n_out. Pooling, BatchNorm (folded on conversion) and activations are not counted.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.DepthwiseConv2D):
            _, h, w, c = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * c
        elif isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * layer.input.shape[-1] * c_out
        elif isinstance(layer, layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)
