"""Solutions to the exercises of 01 · Convolution intuition. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. These answers are fixed
facts of the arithmetic (no data involved), so they are worked out by hand in code and then confirmed
with the notebook's helpers, as the exercises ask. ``tools/check_solutions.py`` runs the notebook with
these cells pasted in and requires every self-check to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: with "valid" padding the window must fit inside the image: floor((n - k) / s) + 1 positions.
# (150 - 3) / 2 = 73.5, rounded down to 73, plus 1: 74.
answer_1 = (150 - 3) // 2 + 1
print("by hand:", answer_1, "| convolution.output_size:", convolution.output_size(150, 3, 2, "valid"))

# %% answer_2
# Why: each of the 64 filters has a 3x3 slice for each of the 32 input channels, plus one bias:
# 3 * 3 * 32 * 64 + 64 = 18,496. The image size (75x75) does not appear: the same small kernels slide
# over every position (weight sharing).
answer_2 = 3 * 3 * 32 * 64 + 64
bigger_input = keras.layers.Conv2D(64, 3)
bigger_input.build((None, 300, 300, 32))
print("by hand:", answer_2, "| on a 300x300 input Keras counts", bigger_input.count_params(), "as well")

# %% answer_3
# Why: follow two numbers through the layers: the receptive field `rf` grows by (k - 1) * jump, and a
# stride multiplies the jump. Two VGG blocks are conv3, conv3, pool2, conv3, conv3, pool2:
#   rf 1 -> 3 -> 5 -> 6 (jump 2) -> 10 -> 14 -> 16 (jump 4).
rf, jump = 1, 1
for layer_kernel, layer_stride in [(3, 1), (3, 1), (2, 2)] * 2:
    rf += (layer_kernel - 1) * jump
    jump *= layer_stride
answer_3 = rf
print("by hand:", answer_3, "| convolution.receptive_field:", convolution.receptive_field([(3, 1), (3, 1), (2, 2)] * 2))

# %% answer_4
# Why: Sobel y compares the row below with the row above ([-1 -2 -1] on top, [1 2 1] at the bottom), so
# it is positive where the image gets *brighter* going down. Flip its sign to respond to a bright top
# and a dark bottom. Every column adds up to 0 (flat regions give 0), and every row is symmetric, so a
# vertical edge cancels out too.
answer_4 = (-convolution.KERNELS["sobel y"]).tolist()  # [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
print(np.asarray(answer_4))

# %% [markdown] stretch 5
# **5 (stretch, no self-check): dilation.** The only change to `conv2d_loops` is where each tap reads:
#
# ```python
# def conv2d_dilated(image, kernel, stride=1, dilation=1):
#     kh, kw = kernel.shape
#     span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1   # what the kernel covers
#     out_h = (image.shape[0] - span_h) // stride + 1                     # "valid" padding
#     out_w = (image.shape[1] - span_w) // stride + 1
#     out = np.zeros((out_h, out_w), "float32")
#     for i in range(out_h):
#         for j in range(out_w):
#             for u in range(kh):
#                 for v in range(kw):
#                     out[i, j] += image[i * stride + u * dilation, j * stride + v * dilation] * kernel[u, v]
#     return out
#
# x = np.random.default_rng(SEED).uniform(size=(20, 20)).astype("float32")
# k = np.random.default_rng(SEED + 1).normal(size=(3, 3)).astype("float32")
# ours = conv2d_dilated(x, k, dilation=2)
# theirs = tf.nn.conv2d(x[None, :, :, None], k[:, :, None, None], strides=1, padding="VALID", dilations=2)
# print(ours.shape, np.abs(ours - theirs.numpy()[0, :, :, 0]).max())   # (16, 16) and float32 rounding
# ```
#
# A 3x3 kernel with dilation `d` covers `d * (3 - 1) + 1` pixels per side: 3, 5 and 9 for dilations 1, 2
# and 4. With stride 1 the jump stays 1, so the receptive field is `1 + 2 + 4 + 8 = 15` pixels:
# `convolution.receptive_field([(3, 1), (5, 1), (9, 1)])`. Three ordinary 3x3 convolutions see only 7:
# dilation grows the field exponentially with depth, with the same 27 weights per channel pair and
# without shrinking the feature maps.
