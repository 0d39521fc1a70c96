"""Pure modelling: the adversarial recipes, their networks and losses (no I/O, no data, no CLI)."""
from recipes.base import GAN
from recipes.cgan import CGAN
from recipes.cyclegan import CycleGAN
from recipes.dcgan import DCGAN
from recipes.lsgan import LSGAN
from recipes.srgan import SRGAN
from recipes.stylegan_lite import StyleGANLite
from recipes.wgan_gp import WGANGP

__all__ = ["GAN", "CGAN", "CycleGAN", "DCGAN", "LSGAN", "SRGAN", "StyleGANLite", "WGANGP", "RECIPES", "get_recipe"]

RECIPES = {"dcgan": DCGAN, "wgan_gp": WGANGP, "lsgan": LSGAN, "cgan": CGAN, "cyclegan": CycleGAN,
           "srgan": SRGAN, "stylegan_lite": StyleGANLite}


def get_recipe(name):
    """The recipe class registered under `name`."""
    if name not in RECIPES:
        raise ValueError(f"Unknown recipe {name!r}. Known recipes: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]
