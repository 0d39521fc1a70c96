"""Pure modelling: the adversarial recipes, their networks and losses (no I/O, no data, no CLI).
Each recipe registers itself (`recipes.registry.register_recipe`); `RECIPES` is the registry's view."""
from recipes.acgan import ACGAN
from recipes.base import GAN
from recipes.began import BEGAN
from recipes.biggan_lite import BigGANLite
from recipes.cgan import CGAN
from recipes.cyclegan import CycleGAN
from recipes.dcgan import DCGAN
from recipes.ebgan import EBGAN
from recipes.lsgan import LSGAN
from recipes.registry import RECIPES, get_recipe, list_recipes, register_recipe
from recipes.sagan import SAGAN
from recipes.sngan import SNGAN
from recipes.srgan import SRGAN
from recipes.stylegan_lite import StyleGANLite
from recipes.wgan_gp import WGANGP

__all__ = ["GAN", "ACGAN", "BEGAN", "BigGANLite", "CGAN", "CycleGAN", "DCGAN", "EBGAN", "LSGAN", "SAGAN", "SNGAN",
           "SRGAN", "StyleGANLite", "WGANGP", "RECIPES", "get_recipe", "list_recipes", "register_recipe"]
