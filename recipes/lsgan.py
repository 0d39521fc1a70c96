"""LSGAN: Mao et al. 2016, https://arxiv.org/abs/1611.04076.

The DCGAN architecture with a least-squares objective: the discriminator regresses
real to b and fake to a, the generator pulls fakes towards c (a=0, b=c=1 by default,
the paper's "0-1 coding"; a=-1, b=1, c=0 minimises the Pearson χ² divergence).
"""
import dataclasses
import functools

from recipes import losses
from recipes.dcgan import DCGAN
from recipes.registry import register_recipe


@register_recipe("lsgan", paper="Mao et al. 2016, https://arxiv.org/abs/1611.04076")
class LSGAN(DCGAN):
    """Least-squares GAN on the DCGAN networks (the discriminator's output is linear): the DCGAN step
    with loss="least_squares" and the codes a, b, c, i.e.
    min_D ½E[(D(x) - b)²] + ½E[(D(G(z)) - a)²];  min_G ½E[(D(G(z)) - c)²]."""

    fixed_arguments = ("loss", "n_disc", "penalty_weight")

    def __init__(self, a=0.0, b=1.0, c=1.0, **kwargs):
        self.a, self.b, self.c = float(a), float(b), float(c)
        super().__init__(loss="least_squares", **kwargs)
        self.objective = dataclasses.replace(
            self.objective,
            discriminator_loss=functools.partial(losses.least_squares_discriminator_loss, real_label=self.b,
                                                 fake_label=self.a),
            generator_loss=functools.partial(losses.least_squares_generator_loss, real_label=self.c))

    def get_config(self):
        return {**super().get_config(), "a": self.a, "b": self.b, "c": self.c}
