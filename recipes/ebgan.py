"""EBGAN: Zhao, Mathieu & LeCun 2016, https://arxiv.org/abs/1609.03126.

The discriminator is an energy function, an autoencoder's reconstruction error D(x) = ‖Dec(Enc(x)) - x‖² (here the
mean squared pixel error per example): D minimises D(x) + [m - D(G(z))]⁺ (eq. 1, margin m), G minimises
D(G(z)) + λ_PT·f_PT(S) (eq. 2 with the pulling-away term of section 2.4), where S are the encoder's codes of the
generated batch and f_PT(S) = 1/(N(N-1)) Σ_{i≠j} (S_iᵀS_j / (‖S_i‖‖S_j‖))², N the batch size.

Scaled down as BEGAN's (`recipes.began.build_autoencoder`: the same autoencoder, the DCGAN generator). The margin
defaults to 1, a value stated here rather than taken from the paper (its margins were searched for its own
energies' scale): the energy is a per-pixel mean, at most 4 for images in [-1, 1], so m = 1 is a quarter of that
range. Adam(2e-4, β1 = 0.5), the zoo's DCGAN settings (the paper searched its optimizers per experiment).
"""
import tensorflow as tf

from recipes.base import batch_size, replica_context, replica_total, split_labels
from recipes.began import AutoencoderGAN
from recipes.registry import register_recipe


def pulling_away(codes):
    """f_PT over the global batch: 1/(N(N-1)) Σ_{i≠j} cos²(S_i, S_j) = (‖Σ_i ŝ_iŝ_iᵀ‖²_F - Σ_i ‖ŝ_i‖⁴) / (N(N-1)),
    ŝ_i = S_i/‖S_i‖, with both sums over every replica's examples (N = local batch × replicas)."""
    unit = tf.math.l2_normalize(tf.cast(tf.reshape(codes, [tf.shape(codes)[0], -1]), tf.float32), axis=1)
    gram = replica_total(tf.matmul(unit, unit, transpose_a=True))  # Σ_i ŝ_iŝ_iᵀ: [code, code]
    diagonal = replica_total(tf.reduce_sum(tf.reduce_sum(unit ** 2, axis=1) ** 2))  # Σ_i (ŝ_iᵀŝ_i)²
    n = tf.cast(tf.shape(unit)[0] * replica_context()[1], tf.float32)
    return (tf.reduce_sum(gram ** 2) - diagonal) / (n * (n - 1.0))


def squared_error(images, reconstruction):
    """D(v) = ‖Dec(Enc(v)) - v‖²: the mean squared pixel error of each example."""
    error = tf.square(tf.cast(images, tf.float32) - tf.cast(reconstruction, tf.float32))
    return tf.reduce_mean(tf.reshape(error, [tf.shape(error)[0], -1]), axis=1)


@register_recipe("ebgan", paper="Zhao et al. 2016, https://arxiv.org/abs/1609.03126")
class EBGAN(AutoencoderGAN):
    """Energy-based GAN with the pulling-away term (module docstring): `margin` m > 0, `pt_weight` λ_PT ≥ 0
    (the paper's 0.1; 0: EBGAN without PT)."""

    loss_names = ("d_loss", "g_loss", "real_energy", "fake_energy", "pulling_away")

    def __init__(self, margin=1.0, pt_weight=0.1, **kwargs):
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 < margin < float("inf"):
            raise ValueError(f"`margin` (EBGAN's m) must be a finite number > 0. Received: margin={margin!r}")
        if isinstance(pt_weight, bool) or not isinstance(pt_weight, (int, float)) or not 0 <= pt_weight < float("inf"):
            raise ValueError(f"`pt_weight` (λ_PT) must be a finite number ≥ 0. Received: pt_weight={pt_weight!r}")
        self.margin, self.pt_weight = float(margin), float(pt_weight)
        super().__init__(**kwargs)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "pt_weight": self.pt_weight}

    def energy(self, images):
        """(D(T(v)) per example, the encoder's codes of T(v))."""
        images, reconstruction, code = self.autoencode(images)
        return squared_error(images, reconstruction), code

    def discriminator_terms(self, real):
        real_energy, _ = self.energy(real)
        fake_energy, _ = self.energy(self.fake(batch_size(real)))
        return {"loss": real_energy + tf.nn.relu(self.margin - fake_energy), "real": real_energy, "fake": fake_energy}

    def generator_terms(self, n):
        fake_energy, codes = self.energy(self.fake(n))
        pt = pulling_away(codes)
        # f_PT is one number for the global batch: each example carries it, so the global-batch mean adds λ_PT·f_PT
        return {"loss": fake_energy + self.pt_weight * pt, "pulling_away": tf.fill(tf.shape(fake_energy), pt)}

    def train_step(self, data):
        """min_D E[D(x) + [m - D(G(z))]⁺]; then min_G E[D(G(z'))] + λ_PT·f_PT(Enc(G(z'))) against the updated D,
        f_PT over the global batch. Logs the losses, E[D(x)] and E[D(G(z))] of D's step and f_PT."""
        real, _ = split_labels(data)
        d = self.update(self.discriminator, self.d_optimizer, lambda: self.discriminator_terms(real))
        g = self.update(self.generator, self.g_optimizer, lambda: self.generator_terms(batch_size(real)))
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"], real_energy=d["real"], fake_energy=d["fake"],
                                pulling_away=g["pulling_away"])
