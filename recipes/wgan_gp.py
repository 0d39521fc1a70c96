"""WGAN-GP: Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028.

Wasserstein loss with a gradient penalty on random interpolates between real and
generated images; `n_critic` critic steps per generator step, each on a fresh real
batch; Adam(1e-4, β1=0, β2=0.9); a critic without batch norm (the penalty is per
example, which batch norm would break).
"""
from recipes.dcgan import DCGAN
from recipes.layers import check_weight
from recipes.registry import register_recipe


@register_recipe("wgan_gp", paper="Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028")
class WGANGP(DCGAN):
    """Wasserstein GAN with gradient penalty on the DCGAN networks: the DCGAN step with
    loss="wasserstein_gp", n_disc = `n_critic` and penalty_weight = `gp_weight` (λ), i.e.
    n_critic × min_C E[D(G(z)) - D(x) + λ(‖∇D(x̂)‖₂ - 1)²], x̂ = x + α(G(z) - x), α ~ U(0, 1),
    each on a fresh real batch, then min_G -E[D(G(z))].

    A train step consumes `n_critic` real batches: `train_step` accepts images shaped
    [batch, n_critic, H, W, C] (what `zoo.train` feeds, see `real_batches_per_step`),
    or plain [batch, H, W, C], in which case every critic step reuses that batch."""

    fixed_arguments = ("loss", "n_disc", "penalty_weight")
    loss_names = ("d_loss", "g_loss", "gradient_penalty", "wasserstein_estimate")
    optimizer_defaults = {"learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9}

    def __init__(self, n_critic=5, gp_weight=10.0, discriminator_norm="none", **kwargs):
        if int(n_critic) < 1:
            raise ValueError(f"`n_critic` must be a positive integer. Received: n_critic={n_critic!r}")
        if discriminator_norm in ("batch", "sync_batch"):
            raise ValueError("WGAN-GP's critic must not use batch norm (the gradient penalty is per example); "
                             f"use 'layer', 'spectral' or 'none'. Received: discriminator_norm={discriminator_norm!r}")
        gp_weight = check_weight("gp_weight", gp_weight)
        super().__init__(loss="wasserstein_gp", n_disc=int(n_critic), penalty_weight=gp_weight,
                         discriminator_norm=discriminator_norm, **kwargs)

    @property
    def n_critic(self):
        return self.n_disc

    @property
    def gp_weight(self):
        return self.penalty_weight

    def get_config(self):
        return {**super().get_config(), "n_critic": self.n_critic, "gp_weight": self.gp_weight}

    def step_logs(self, d, g):
        """The penalty and the critic's estimate of the Wasserstein distance, E[D(x)] - E[D(G(z))]."""
        return {"d_loss": d["loss"], "g_loss": g["loss"], "gradient_penalty": d["penalty"],
                "wasserstein_estimate": -d["unpenalized"]}
