"""DCGAN: Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434.

Transposed-conv generator with batch norm + ReLU and a tanh output; strided-conv
discriminator with LeakyReLU(0.2); the non-saturating loss of Goodfellow et al. 2014. For 2-D points (a 1×1
frame of 2 channels, zoo.data.points) the networks are MLPs (`network="mlp"`).
"""
import dataclasses
import functools
import math

import keras
import tensorflow as tf

from recipes import losses, remedies
from recipes.base import GAN, batch_size, global_batch_mean, split_labels
from recipes.latents import stream_latents
from recipes.layers import (DISCRIMINATOR_NORMS, NORMS, MinibatchDiscrimination, check_choice, check_image_shape,
                            check_weight, downsampling_stack, logit_layer, upsampling_stack)
from recipes.registry import register_recipe


def build_generator(latent_dim=100, image_shape=(28, 28, 1), width=64, norm="batch", name="generator"):
    """z [batch, latent_dim] → images [batch, H, W, C] in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    return keras.Model(z, upsampling_stack(z, check_image_shape(image_shape), width, norm), name=name)


def build_discriminator(image_shape=(28, 28, 1), width=64, norm="batch", name="discriminator", minibatch_kernels=0,
                        units=1):
    """images → `units` outputs per image, the objective's head (`losses.Head`: one logit by default);
    `minibatch_kernels` B > 0: a `MinibatchDiscrimination` layer between the trunk's features and the logit."""
    images = keras.Input(check_image_shape(image_shape), name="images")
    features = downsampling_stack(images, image_shape, width, norm)
    return keras.Model(images, logit_layer(norm, units=units)(minibatch_features(features, minibatch_kernels)),
                       name=name)


def minibatch_features(features, kernels):
    """[f(x), o(x)] of minibatch discrimination with `kernels` B (Salimans et al. 2016), or f(x) for B = 0."""
    return MinibatchDiscrimination(kernels, name=MINIBATCH_LAYER)(features) if kernels else features


MINIBATCH_LAYER = "minibatch_discrimination"


def discriminator_features(discriminator):
    """A model of the discriminator's layers: images → [its output, f(images)], f the intermediate features
    feature matching reads: the trunk's output that the logit layer takes (or, with minibatch discrimination,
    the layer before it: f without the minibatch features o)."""
    names = [layer.name for layer in discriminator.layers]
    reader = discriminator.get_layer(MINIBATCH_LAYER if MINIBATCH_LAYER in names else "logit")
    return keras.Model(discriminator.inputs, [discriminator.outputs[0], reader.input])


NETWORKS = ("conv", "mlp")
MLP_LAYERS = 2
PREVIEW_POINTS, PREVIEW_EXTENT, PREVIEW_SIZE = 4096, 5.0, 64  # a points run's sample grid: a density image


def network_for(network, image_shape):
    """`network`, or for None the one the data allows: "mlp" for points (a 1×1 frame), else "conv"."""
    if network is None:
        return "mlp" if tuple(image_shape)[:2] == (1, 1) else "conv"
    check_choice("network", network, NETWORKS)
    return network


def build_mlp_generator(latent_dim, point_shape, width=128, name="generator"):
    """z → MLP_LAYERS × Dense(width) + ReLU → a linear point of `point_shape` (Metz et al. 2016, appendix A:
    2 hidden layers of 128 ReLU units, a linear projection to 2-D)."""
    z = keras.Input((latent_dim,), name="z")
    hidden = z
    for index in range(MLP_LAYERS):
        hidden = keras.layers.Dense(width, activation="relu", name=f"hidden_{index}")(hidden)
    point = keras.layers.Dense(math.prod(point_shape), name="point")(hidden)
    return keras.Model(z, keras.layers.Reshape(point_shape)(point), name=name)


def build_mlp_discriminator(point_shape, width=128, name="discriminator", minibatch_kernels=0, units=1):
    """point → MLP_LAYERS × Dense(width) + ReLU → one logit (Metz et al. use one hidden layer of 128), or the
    objective's head of `units` outputs; `minibatch_kernels` as `build_discriminator`'s."""
    point = keras.Input(point_shape, name="images")
    hidden = keras.layers.Flatten()(point)
    for index in range(MLP_LAYERS):
        hidden = keras.layers.Dense(width, activation="relu", name=f"hidden_{index}")(hidden)
    logit = keras.layers.Dense(units, name="logit")(minibatch_features(hidden, minibatch_kernels))
    return keras.Model(point, logit, name=name)


class DCGANNetworks(GAN):
    """The DCGAN networks, shared by the recipes built on them. `width` is the first discriminator
    layer's filters (the generator mirrors it); `generator_norm` in `layers.NORMS`, `discriminator_norm` also
    "spectral" (Miyato et al. 2018, https://arxiv.org/abs/1802.05957: every conv and the logit layer compute
    with W/σ(W), no activation norm). `network`: "conv", or "mlp" for 2-D points (`width` hidden units a layer,
    default 128; no normalization layers, as Metz et al.: the norms are the conv networks'); None picks by the
    data (`network_for`)."""

    def __init__(self, width: int = None, generator_norm="batch", discriminator_norm="batch", network=None, **kwargs):
        check_choice("generator_norm", generator_norm, NORMS)
        check_choice("discriminator_norm", discriminator_norm, DISCRIMINATOR_NORMS)
        self.network = network_for(network, kwargs.get("image_shape", (28, 28, 1)))
        self.width = int(width if width is not None else 128 if self.network == "mlp" else 64)
        self.generator_norm = generator_norm
        self.discriminator_norm = discriminator_norm
        super().__init__(**kwargs)

    def build_generator(self):
        if self.network == "mlp":
            return build_mlp_generator(self.latent_dim, self.image_shape, self.width)
        return build_generator(self.latent_dim, self.image_shape, self.width, self.generator_norm)

    minibatch_discrimination = 0  # B of the discriminator's minibatch discrimination layer (DCGAN's option)

    head = losses.SCALAR_HEAD  # the discriminator's output per image (DCGAN: its objective's `losses.Head`)

    def build_discriminator(self):
        kernels, units = self.minibatch_discrimination, self.head.units
        if self.network == "mlp":
            return build_mlp_discriminator(self.image_shape, self.width, minibatch_kernels=kernels, units=units)
        return build_discriminator(self.image_shape, self.width, self.discriminator_norm, minibatch_kernels=kernels,
                                   units=units)

    def preview_inputs(self, seed, real_batch=None):
        if self.network != "mlp":
            return super().preview_inputs(seed, real_batch)
        return stream_latents(seed, 0, PREVIEW_POINTS, self.latent_dim)

    def preview(self, inputs):
        """For points: one PREVIEW_SIZE² image of where PREVIEW_POINTS samples fall in [-PREVIEW_EXTENT,
        PREVIEW_EXTENT]² (x right, y up), log(1 + count) scaled to [-1, 1] (empty cells -1; outside points dropped)."""
        if self.network != "mlp":
            return super().preview(inputs)
        points = tf.reshape(tf.cast(self.sampling_generator(inputs, training=False), tf.float32), [-1, 2])
        points = tf.boolean_mask(points, tf.reduce_all(tf.abs(points) < PREVIEW_EXTENT, axis=1))
        cells = tf.cast((points / PREVIEW_EXTENT + 1.0) / 2.0 * PREVIEW_SIZE, tf.int32)
        counts = tf.scatter_nd(tf.stack([PREVIEW_SIZE - 1 - cells[:, 1], cells[:, 0]], axis=1),
                               tf.ones_like(points[:, 0]), [PREVIEW_SIZE, PREVIEW_SIZE])
        density = tf.math.log1p(counts) / tf.math.log1p(tf.maximum(tf.reduce_max(counts), 1.0))
        return (2.0 * density - 1.0)[None, :, :, None], 1

    def get_config(self):
        return {**super().get_config(), "width": self.width, "generator_norm": self.generator_norm,
                "discriminator_norm": self.discriminator_norm, "network": self.network}


def check_count(name, value, meaning):
    """An integer ≥ 0 (`meaning` says what it counts), refused in one line otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{name}` must be an integer ≥ 0 ({meaning}). Received: {name}={value!r}")
    return value


def check_feature_matching(value):
    """None / False (off), True (the paper: the generator's whole loss) or a weight w ≥ 0 (L_G + w·FM; 0: off)."""
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError("`feature_matching` must be true (the generator's loss is feature matching), false, or a "
                         f"finite weight ≥ 0 added to the generator's loss. Received: feature_matching={value!r}")
    return float(value)


def smoothable_losses():
    """The LOSSES whose discriminator loss is the sigmoid cross-entropy (one-sided label smoothing applies)."""
    return [name for name, o in losses.LOSSES.items() if o.discriminator_loss is losses.minimax_discriminator_loss]


@register_recipe("dcgan", paper="Radford et al. 2015, https://arxiv.org/abs/1511.06434")
class DCGAN(DCGANNetworks):
    """DCGAN, by default with the non-saturating loss. `loss` names any objective of
    `losses.LOSSES` (the "same architecture, different loss" arms of a `gan-zoo study`);
    `n_disc` discriminator steps per generator step (None: the loss's paper's, 5 for "wasserstein", else 1);
    `penalty_weight` λ of the loss's gradient
    penalty (None: the loss's default; only for losses with a penalty); `clip` c of the loss's weight
    clipping (None: the loss's default, 0.01 for "wasserstein"; only for losses that clip). An objective
    that declares an optimizer (WGAN's RMSProp(5e-5)) is the default of both players (`default_optimizer`).
    `loss_settings`: {setting: value} of a loss that takes settings (`losses.objective`: "sphere" `features` n
    and `moments` R, "realness" `outcomes` N and `anchors` [A0, A1]); the discriminator's head is the objective's
    (`losses.Head`: `units` outputs per image), any of `discriminator_heads`.

    A train step consumes `n_disc` real batches: images shaped [batch, n_disc, H, W, C] (what
    `zoo.train` feeds) give each discriminator step a fresh batch; plain [batch, H, W, C]
    images are reused by every discriminator step.

    WGANGP and LSGAN are configurations of this class: they fix `fixed_arguments` (a
    loss and its settings) and keep their papers' names for them.

    `bfloat16_checked`: mixed bfloat16 trained the conv networks to float32's quality at the same step count
    (Fashion-MNIST, FID of 2000 samples, Fashion-MNIST evaluator features; float32 vs bfloat16: non-saturating
    loss after 5000 steps 217.7 vs 205.0 (seed 0) and 223.6 vs 219.3 (seed 1), WGAN-GP after 2000 steps 417.9 vs
    415.6; docs/performance.md), so zoo.train may choose it where it measures faster, for every loss of this
    class and its configurations (WGAN-GP, LSGAN) alike; LSGAN and the other losses were not measured
    separately."""

    bfloat16_checked = True

    @classmethod
    def trains_in_bfloat16(cls, settings, image_shape):
        """The conv networks only: the MLP's 2-D points would come out on bfloat16's grid (8 significant bits:
        0.016 apart between 2 and 4, coarser than ring8's σ = 0.02), which was not checked. A bad `network` is
        not checked here (the recipe's constructor refuses it)."""
        network = settings.get("network") or network_for(None, image_shape)
        return super().trains_in_bfloat16(settings, image_shape) and network == "conv"

    discriminator_heads = tuple(losses.HEAD_KINDS)  # its builders end in the objective's head, whatever its width

    @classmethod
    def settled_defaults(cls, config):
        """n_disc None: the loss's paper's critic steps (WGAN: 5), else 1."""
        if "n_disc" in config and config["n_disc"] is None:
            return {**config, "n_disc": losses.objective(config.get("loss", "non_saturating")).n_critic}
        return config

    def __init__(self, loss="non_saturating", n_disc: int = None, penalty_weight: float = None,
                 discriminator_norm="batch", clip: float = None, unroll_steps: int = 0, feature_matching=None,
                 minibatch_discrimination: int = 0, historical_averaging: float = 0.0, label_smoothing: float = 0.0,
                 loss_settings: dict = None, **kwargs):
        """The mode-collapse remedies (`recipes.remedies`), each off by default:

        - `unroll_steps` k ≥ 0: the generator's step sees the discriminator after k simulated updates (Metz et al.
          2016, https://arxiv.org/abs/1611.02163): a functional copy of D from its weights and its optimizer's
          moments now, k steps of D's loss with the discriminator optimizer's own rule (SGD, Adam or RMSprop;
          Metz et al.'s reference code unrolls through Adam's update) on this step's last real batch and the
          generator's batch G(z), differentiated through, so G's gradient has the term dθ_D^k/dθ_G. D's real update
          is the normal one. The simulated steps include D's penalty and clipping if the loss has them, not the
          historical average.
        - `feature_matching`: the generator's loss on the discriminator's intermediate features f
          (`discriminator_features`: the input of the logit layer, or of the minibatch layer), ‖E f(x) - E f(G(z))‖²
          over the global batch (Salimans et al. 2016, https://arxiv.org/abs/1606.03498, section 3.1): True replaces
          L_G by it (the paper); a number w > 0 adds w times it to L_G; None (default), False or 0: off.
        - `minibatch_discrimination` B > 0: a `layers.MinibatchDiscrimination` layer of B kernels of
          C = `layers.MINIBATCH_KERNEL_DIM` (5) before the logit (section 3.2; it sees the per-replica batch).
        - `historical_averaging` λ ≥ 0: λ‖θ - (1/t)Σ_{i≤t} θ_i‖² added to each player's loss at each of its updates
          (section 3.3; `remedies.HistoricalAverage`, state kept in checkpoints).
        - `label_smoothing` s in [0, 1): one-sided label smoothing (section 3.4): D's real targets are 1 - s (0.9
          for s = 0.1), the fake ones stay 0; only for the sigmoid cross-entropy losses."""
        self.objective = losses.objective(loss, loss_settings)
        losses.check_head(loss, self.objective.head, type(self).__name__, self.discriminator_heads)
        self.head, self.loss_settings = self.objective.head, loss_settings
        n_disc = self.objective.n_critic if n_disc is None else n_disc  # the loss's paper's (WGAN: 5), else 1
        if isinstance(n_disc, bool) or not isinstance(n_disc, int) or n_disc < 1:
            raise ValueError(f"`n_disc` must be a positive integer. Received: n_disc={n_disc!r}")
        if penalty_weight is not None and not self.objective.penalty:
            raise ValueError(f"loss {loss!r} has no gradient penalty: drop `penalty_weight` (losses with one: "
                             f"{', '.join(name for name, o in losses.LOSSES.items() if o.penalty)})")
        mlp = network_for(kwargs.get("network"), kwargs.get("image_shape", (28, 28, 1))) == "mlp"  # no norm layers
        if self.objective.penalty and discriminator_norm in ("batch", "sync_batch") and not mlp:
            raise ValueError(f"loss {loss!r} penalises per-example gradients, which batch norm in the discriminator "
                             f"would mix: set discriminator_norm to 'layer', 'spectral' or 'none'. "
                             f"Received: discriminator_norm={discriminator_norm!r}")
        self.loss_name, self.n_disc = loss, n_disc  # `self.loss` is Keras's compile argument
        self.penalty_weight = None if penalty_weight is None else check_weight("penalty_weight", penalty_weight)
        self.penalty_scale = self.objective.penalty_weight if penalty_weight is None else self.penalty_weight
        self.clip = self.check_clip(clip)
        self.clip_value = self.objective.clip if clip is None else self.clip
        self.unroll_steps = check_count("unroll_steps", unroll_steps, "0: no unrolling")
        self.feature_matching = check_feature_matching(feature_matching)
        self.minibatch_discrimination = check_count("minibatch_discrimination", minibatch_discrimination,
                                                    "the number of kernels B; 0: no minibatch discrimination")
        self.historical_averaging = check_weight("historical_averaging", historical_averaging)
        self.label_smoothing = self.smoothed_labels(label_smoothing)
        super().__init__(discriminator_norm=discriminator_norm, **kwargs)
        for name, (kind, _) in self.players.items():  # attributes: TensorFlow's checkpoints track those
            setattr(self, f"{kind}_history", remedies.HistoricalAverage(self.player_variables(name), name=f"{kind}_history")
                    if self.historical_averaging else None)

    def smoothed_labels(self, label_smoothing):
        """`label_smoothing` s as a float in [0, 1), put into the objective's discriminator loss (sigmoid
        cross-entropy losses only)."""
        s = label_smoothing
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 <= s < 1:
            raise ValueError(f"`label_smoothing` must be a number in [0, 1) (real targets 1 - s). Received: "
                             f"label_smoothing={s!r}")
        if s and self.objective.discriminator_loss is not losses.minimax_discriminator_loss:
            raise ValueError(f"loss {self.loss_name!r} has no sigmoid cross-entropy targets to smooth: drop "
                             f"`label_smoothing` (losses with them: {', '.join(smoothable_losses())})")
        if s:
            self.objective = dataclasses.replace(self.objective, discriminator_loss=functools.partial(
                losses.minimax_discriminator_loss, label_smoothing=float(s)))
        return float(s)

    def compile(self, jit_compile=False, **kwargs):
        """GAN's compile; with `unroll_steps`, a discriminator optimizer whose rule the unrolled steps cannot copy
        is refused (`remedies.unrollable_optimizer`)."""
        super().compile(jit_compile=jit_compile, **kwargs)
        if self.unroll_steps:
            remedies.unrollable_optimizer(self.d_optimizer)

    def check_clip(self, clip):
        """`clip` as a float: None, or a finite c > 0 for a loss that clips the critic's weights."""
        if clip is None:
            return None
        if not self.objective.clip:
            raise ValueError(f"loss {self.loss_name!r} does not clip the critic's weights: drop `clip` (losses that "
                             f"do: {', '.join(name for name, o in losses.LOSSES.items() if o.clip)})")
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not math.isfinite(clip) or clip <= 0:
            raise ValueError(f"`clip` must be a finite number > 0 (the critic's weights are clipped to [-clip, clip]). "
                             f"Received: clip={clip!r}")
        return float(clip)

    def default_optimizer(self, player=None, **overrides):
        """The objective's optimizer when it declares one (WGAN: RMSprop(5e-5)), with a `learning_rate` override;
        Adam's settings (`beta_1`, `beta_2`) ask for the recipe's Adam instead (Lucic et al. 2018 train every
        loss, WGAN's too, with Adam)."""
        if self.objective.optimizer is None or set(overrides) - {"learning_rate"}:
            return super().default_optimizer(player, **overrides)
        return self.objective.optimizer(**overrides)

    @property
    def loss_names(self):
        return ("d_loss", "g_loss", "d_penalty") if self.objective.penalty else ("d_loss", "g_loss")

    @property
    def real_batches_per_step(self):
        return self.n_disc

    def get_config(self):
        config = {**super().get_config(), "loss": self.loss_name, "loss_settings": self.loss_settings,
                  "n_disc": self.n_disc,
                  "penalty_weight": self.penalty_weight, "clip": self.clip, "unroll_steps": self.unroll_steps,
                  "feature_matching": self.feature_matching, "minibatch_discrimination": self.minibatch_discrimination,
                  "historical_averaging": self.historical_averaging, "label_smoothing": self.label_smoothing}
        return {key: value for key, value in config.items() if key not in self.fixed_arguments}

    def discriminator_terms(self, real, fake=None, critic=None):
        """L_D(D(T(x)), D(T(G(z)))) [+ λ·penalty at T(x), T(G(z))]; T the DiffAugment policies (identity by default).
        `fake`: generated images (default: G(z) for fresh z); `critic`: D as a callable of images (default: the
        discriminator in training mode; the unrolled steps pass their copy)."""
        n = batch_size(real)
        critic = critic or (lambda x: self.discriminator(x, training=True))
        real, fake = self.augmented(real), self.augmented(self.fake(n) if fake is None else fake)
        loss = self.objective.discriminator_loss(critic(real), critic(fake))
        if not self.objective.penalty:
            return {"loss": loss}
        penalty = self.objective.penalty(critic, real, fake, lambda *shape: self.uniform(n, *shape))
        return {"loss": loss + self.penalty_scale * penalty, "penalty": penalty, "unpenalized": loss}

    def discriminator_view(self, real, generated):
        """x → (D(x), f(x)) in training mode as the generator's step sees D: the discriminator itself, or with
        `unroll_steps` k its functional copy after k simulated updates on (`real`, `generated`) (`remedies.unroll`);
        f(x) its intermediate features (`discriminator_features`) with feature matching, else None."""
        features = discriminator_features(self.discriminator) if self.feature_matching else None
        if self.unroll_steps:
            def unrolled_loss(copy):
                return global_batch_mean(self.discriminator_terms(real, generated, copy)["loss"])

            copy = remedies.unroll(remedies.FunctionalNetwork.of(self.discriminator), self.d_optimizer, unrolled_loss,
                                   self.unroll_steps, self.clip_value)
            call = remedies.FunctionalNetwork(self.discriminator, copy.trainable, copy.non_trainable, features)
        else:
            network = features or self.discriminator
            call = lambda x: network(x, training=True)  # noqa: E731
        return (lambda x: tuple(call(x))) if features else (lambda x: (call(x), None))

    def generator_terms(self, real):
        """L_G(D(T(G(z)))), or L_G(D(T(G(z))), D(T(x))) for an objective whose generator loss compares with
        real images (the relativistic ones); D as `discriminator_view` gives it (unrolled or not). With feature
        matching FM = ‖E f(T(x)) - E f(T(G(z)))‖² (`remedies.feature_matching_loss`), the loss is FM (True) or
        L_G + w·FM (a weight w)."""
        n = batch_size(real)
        generated = self.fake(n)
        view = self.discriminator_view(real, generated)
        fake, fake_features = view(self.augmented(generated))
        reads_real = self.objective.generator_uses_real or self.feature_matching
        real_outputs, real_features = view(self.augmented(real)) if reads_real else (None, None)
        loss = (self.objective.generator_loss(fake, real_outputs) if self.objective.generator_uses_real
                else self.objective.generator_loss(fake))
        if not self.feature_matching:
            return loss
        matching = remedies.batch_constant(remedies.feature_matching_loss(real_features, fake_features), n)
        return matching if self.feature_matching is True else loss + self.feature_matching * matching

    def with_history(self, player, terms_fn):
        """`terms_fn` with historical averaging's λ‖θ - θ̄‖² of `player` (an optimizer name) added to its loss,
        the average first joined by the weights now (`remedies.HistoricalAverage`); `terms_fn` without it."""
        if not self.historical_averaging:
            return terms_fn
        history = getattr(self, f"{self.players[player][0]}_history")
        history.advance()

        def terms():
            returned = terms_fn()
            terms = returned if isinstance(returned, dict) else {"loss": returned}
            penalty = remedies.batch_constant(self.historical_averaging * history.penalty(), tf.shape(terms["loss"])[0])
            return {**terms, "loss": terms["loss"] + penalty}

        return terms

    def train_step(self, data):
        """n_disc × (min_D L_D on a fresh real batch, then the objective's weight clipping if any), then
        min_G L_G (against the last real batch for relativistic losses), with (L_D, L_G) the chosen loss; the
        default: max_D E[log σ(D(x))] + E[log(1 - σ(D(G(z))))];  min_G E[-log σ(D(G(z)))]. The remedies
        (`__init__`) change L_G, D's network, and add historical averaging to both."""
        real, _ = split_labels(data)
        real_batches = tf.unstack(real, axis=1) if real.shape.rank == 5 else [real] * self.n_disc
        for real in real_batches:
            d = self.update(self.discriminator, self.d_optimizer,
                            self.with_history("d_optimizer", lambda: self.discriminator_terms(real)))
            if self.clip_value:
                losses.clip_weights(self.discriminator.trainable_variables, self.clip_value)
        g = self.update(self.generator, self.g_optimizer,
                        self.with_history("g_optimizer", lambda: self.generator_terms(real)))
        return self.finish_step(**self.step_logs(d, g))

    def step_logs(self, d, g):
        """The logged losses of a step from the last discriminator update's terms `d` and the generator's `g`."""
        penalty = {"d_penalty": d["penalty"]} if self.objective.penalty else {}
        return {"d_loss": d["loss"], "g_loss": g["loss"], **penalty}
