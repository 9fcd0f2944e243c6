"""Goldens for rmlx-nn's loss functions (nn.losses.*): every option, each reduction,
gradients with respect to the float inputs, and MLX's errors."""
import mlx.core as mx
import mlx.nn as nn
import numpy as np

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_losses")
L = nn.losses


def case(name, fname, inputs, weights=None, grads=True, **kw):
    """`fname(*inputs, weights=weights, **kw)`; weights (if any) is the last input."""
    f = getattr(L, fname)
    kwargs = dict(kw)
    ins = list(inputs)
    if weights is not None:
        kwargs["weights"] = True
        ins.append(weights)

        def fn(*xs):
            return f(*xs[:-1], weights=xs[-1], **kw)
    else:
        def fn(*xs):
            return f(*xs, **kw)
    g.function(name, fname, kwargs, ins, fn, grads=grads)


def ints(shape, high, seed):
    return mx.array(np.random.default_rng(seed).integers(0, high, shape).astype(np.int32))


def probs(shape, seed, axis=-1):
    return mx.softmax(randn(shape, seed=seed), axis=axis)


REDS = ("none", "mean", "sum")

# cross_entropy
logits = randn((4, 5), seed=1, scale=2.0)
t_idx = ints((4,), 5, 2)
t_prob = probs((4, 5), 3)
for r in REDS:
    case(f"ce_idx_{r}", "cross_entropy", [logits, t_idx], reduction=r)
    case(f"ce_prob_{r}", "cross_entropy", [logits, t_prob], reduction=r)
case("ce_axis0_idx", "cross_entropy", [randn((5, 4), seed=4), ints((4,), 5, 5)], axis=0)
case("ce_axis0_prob", "cross_entropy", [randn((5, 4), seed=4), probs((5, 4), 6, axis=0)], axis=0)
case("ce_smooth_idx", "cross_entropy", [logits, t_idx], label_smoothing=0.1)
case("ce_smooth_prob_mean", "cross_entropy", [logits, t_prob], label_smoothing=0.3,
     reduction="mean")
case("ce_weights", "cross_entropy", [logits, t_idx], weights=randn((4,), seed=7))
case("ce_weights_smooth_sum", "cross_entropy", [logits, t_prob], weights=randn((4,), seed=8),
     label_smoothing=0.2, reduction="sum")
case("ce_3d", "cross_entropy", [randn((2, 3, 5), seed=9), ints((2, 3), 5, 10)])
case("ce_3d_axis1", "cross_entropy", [randn((2, 5, 3), seed=9), ints((2, 3), 5, 11)], axis=1)
case("ce_large_logits", "cross_entropy", [mx.array([[1000.0, -1000.0, 0.0], [0.0, 0.0, 0.0]]),
                                          mx.array([1, 2])])
case("ce_float16", "cross_entropy", [logits.astype(mx.float16), t_idx])
case("ce_bad_smoothing_1", "cross_entropy", [logits, t_idx], label_smoothing=1.0)
case("ce_bad_smoothing_neg", "cross_entropy", [logits, t_idx], label_smoothing=-0.1)
case("ce_bad_targets", "cross_entropy", [logits, ints((5,), 5, 2)])
case("ce_bad_prob_targets", "cross_entropy", [logits, probs((4, 6), 3)])
case("ce_bad_weights", "cross_entropy", [logits, t_idx], weights=randn((5,), seed=7))
case("ce_bad_reduction", "cross_entropy", [logits, t_idx], reduction="max")

# binary_cross_entropy
x = randn((3, 4), seed=12, scale=2.0)
tb = ints((3, 4), 2, 13).astype(mx.float32)
p = mx.sigmoid(randn((3, 4), seed=14))
for r in REDS:
    case(f"bce_logits_{r}", "binary_cross_entropy", [x, tb], reduction=r)
    case(f"bce_probs_{r}", "binary_cross_entropy", [p, tb], with_logits=False, reduction=r)
case("bce_int_targets", "binary_cross_entropy", [x, ints((3, 4), 2, 13)])
case("bce_probs_clipped", "binary_cross_entropy",
     [mx.array([0.0, 1.0, 0.5, 1e-30]), mx.array([1.0, 0.0, 1.0, 1.0])], with_logits=False,
     reduction="none")
case("bce_weights", "binary_cross_entropy", [x, tb], weights=randn((3, 4), seed=15))
case("bce_weights_probs", "binary_cross_entropy", [p, tb], weights=randn((3, 4), seed=16),
     with_logits=False, reduction="sum")
case("bce_large", "binary_cross_entropy", [mx.array([100.0, -100.0, 50.0]), mx.array([0.0, 1.0, 1.0])],
     reduction="none")
case("bce_bad_shape", "binary_cross_entropy", [x, tb[:2]])
case("bce_bad_weights", "binary_cross_entropy", [x, tb], weights=randn((4,), seed=15))

# l1 / mse / smooth_l1
a, b = randn((3, 4), seed=17), randn((3, 4), seed=18, scale=2.0)
for fname in ("l1_loss", "mse_loss"):
    for r in REDS:
        case(f"{fname}_{r}", fname, [a, b], reduction=r)
    case(f"{fname}_bad_shape", fname, [a, b[:, :3]])
    case(f"{fname}_float16", fname, [a.astype(mx.float16), b.astype(mx.float16)])
for r in REDS:
    case(f"smooth_l1_{r}", "smooth_l1_loss", [a, b], reduction=r)
case("smooth_l1_beta", "smooth_l1_loss", [a, b], beta=0.5, reduction="none")
case("smooth_l1_beta_large", "smooth_l1_loss", [a, b], beta=3.0, reduction="sum")
case("smooth_l1_bad_shape", "smooth_l1_loss", [a, b[:2]])

# nll / kl_div
logp = mx.log(probs((4, 5), 19))
for r in REDS:
    case(f"nll_{r}", "nll_loss", [logp, ints((4,), 5, 20)], reduction=r)
    case(f"kl_{r}", "kl_div_loss", [logp, mx.log(probs((4, 5), 21))], reduction=r)
case("nll_axis0", "nll_loss", [mx.log(probs((5, 3), 22, axis=0)), ints((3,), 5, 23)], axis=0)
case("kl_axis0", "kl_div_loss", [mx.log(probs((5, 3), 22, axis=0)),
                                 mx.log(probs((5, 3), 24, axis=0))], axis=0)

# gaussian_nll
mu, tgt = randn((3, 4), seed=25), randn((3, 4), seed=26)
var = mx.exp(randn((3, 4), seed=27))
for r in REDS:
    case(f"gnll_{r}", "gaussian_nll_loss", [mu, tgt, var], reduction=r)
case("gnll_full", "gaussian_nll_loss", [mu, tgt, var], full=True)
case("gnll_eps", "gaussian_nll_loss", [mu, tgt, mx.array([[0.0, 1e-9, 0.5, 2.0]] * 3)], eps=1e-3,
     reduction="none")
case("gnll_bad_targets", "gaussian_nll_loss", [mu, tgt[:2], var])
case("gnll_bad_vars", "gaussian_nll_loss", [mu, tgt, var[:, :2]])

# triplet
an, po, ne = randn((4, 3), seed=28), randn((4, 3), seed=29), randn((4, 3), seed=30)
for r in REDS:
    case(f"triplet_{r}", "triplet_loss", [an, po, ne], reduction=r)
case("triplet_p1", "triplet_loss", [an, po, ne], p=1)
case("triplet_p3_margin", "triplet_loss", [an, po, ne], p=3, margin=0.2)
case("triplet_axis0_eps", "triplet_loss", [an, po, ne], axis=0, eps=1e-3)

# hinge / huber / log_cosh
yt = mx.where(randn((3, 4), seed=31) > 0, 1.0, -1.0)
for r in REDS:
    case(f"hinge_{r}", "hinge_loss", [a, yt], reduction=r)
    case(f"huber_{r}", "huber_loss", [a, b], reduction=r)
    case(f"log_cosh_{r}", "log_cosh_loss", [a, b], reduction=r)
case("huber_delta", "huber_loss", [a, b], delta=0.5)
case("log_cosh_large", "log_cosh_loss", [mx.array([100.0, -100.0, 0.0, 1e-3]), mx.zeros((4,))])

# cosine similarity
c1, c2 = randn((3, 4), seed=32), randn((3, 4), seed=33)
for r in REDS:
    case(f"cosine_{r}", "cosine_similarity_loss", [c1, c2], reduction=r)
case("cosine_axis0", "cosine_similarity_loss", [c1, c2], axis=0)
case("cosine_axis_neg", "cosine_similarity_loss", [randn((2, 3, 4), seed=34),
                                                   randn((2, 3, 4), seed=35)], axis=-1)
case("cosine_zero_eps", "cosine_similarity_loss",
     [mx.array([[0.0, 0.0], [1.0, 2.0]]), mx.array([[1.0, 1.0], [2.0, 1.0]])], eps=0.5)

# margin ranking
m1, m2 = randn((5,), seed=36), randn((5,), seed=37)
yt5 = mx.array([1, -1, 1, 1, -1])
for r in REDS:
    case(f"margin_{r}", "margin_ranking_loss", [m1, m2, yt5], reduction=r)
case("margin_margin", "margin_ranking_loss", [m1, m2, yt5.astype(mx.float32)], margin=0.5)
case("margin_bad_shape", "margin_ranking_loss", [m1, m2[:4], yt5])
# non-finite values and half precision
nf = mx.array([[float("nan"), float("inf"), float("-inf"), 1.0]])
fin = mx.array([[0.5, 1.0, 0.0, 1.0]])
for fname in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss",
              "hinge_loss", "binary_cross_entropy"):
    case(f"{fname}_nonfinite", fname, [nf, fin], reduction="none", grads=False)
case("ce_nonfinite_logits", "cross_entropy", [mx.array([[float("inf"), 0.0], [float("nan"), 1.0]]),
                                              mx.array([0, 1])], grads=False)
for fname in ("binary_cross_entropy", "smooth_l1_loss", "huber_loss", "log_cosh_loss"):
    case(f"{fname}_bfloat16", fname, [a.astype(mx.bfloat16), b.astype(mx.bfloat16)],
         reduction="none")
case("kl_float16", "kl_div_loss", [logp.astype(mx.float16), mx.log(probs((4, 5), 21)).astype(mx.float16)])
case("cosine_float16", "cosine_similarity_loss", [c1.astype(mx.float16), c2.astype(mx.float16)])
g.save()
