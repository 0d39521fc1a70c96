"""The recipe registry: a recipe registers itself once, and every list of recipes is read from there."""
import ast
import pathlib

import keras
import pytest

import recipes
import zoo
from recipe_checks import check_registered
from recipes import registry


def test_every_recipe_class_is_registered_once_with_its_paper():
    classes = [cls for cls in map(vars(recipes).get, recipes.__all__)
               if isinstance(cls, type) and issubclass(cls, recipes.GAN) and cls is not recipes.GAN]
    assert sorted(cls.recipe_name for cls in classes) == sorted(recipes.RECIPES) == zoo.list_recipes()
    for cls in classes:
        check_registered(cls)


def test_every_registered_recipe_runs_the_recipe_contract():
    """Each registered recipe's class is the first argument of a `run_recipe_test` call in tests/recipes."""
    tested = set()
    for path in pathlib.Path(__file__).parent.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_recipe_test":
                tested.add(ast.unparse(node.args[0]).rpartition(".")[2])
    assert {cls.__name__ for cls in recipes.RECIPES.values()} <= tested


@pytest.fixture
def toy_recipe():
    """A recipe registered from this test file, removed from the registry afterwards."""
    @recipes.register_recipe("toy_gan", paper="Nobody 2026, https://arxiv.org/abs/0000.00000")
    class ToyGAN(recipes.DCGAN):
        pass

    yield ToyGAN
    del registry._CLASSES["toy_gan"]


def test_a_new_recipe_is_one_decorator(toy_recipe):
    assert recipes.RECIPES["toy_gan"] is toy_recipe and "toy_gan" in zoo.list_recipes("toy*")
    assert keras.saving.get_registered_name(toy_recipe) == "gan_zoo>ToyGAN"
    assert toy_recipe.recipe_name == "toy_gan" and toy_recipe.paper.startswith("Nobody 2026")
    built = recipes.get_recipe("toy_gan")(width=4, latent_dim=4)
    assert type(keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(built))) is toy_recipe


def test_a_taken_name_or_a_bad_name_is_refused(toy_recipe):
    with pytest.raises(ValueError, match="Recipe name 'dcgan' is taken by recipes.dcgan.DCGAN; choose another for"):
        @recipes.register_recipe("dcgan", paper="-")
        class DCGAN(recipes.DCGAN):  # the same class name from another module
            pass
    assert recipes.RECIPES["dcgan"] is recipes.DCGAN
    with pytest.raises(ValueError, match="lower case letters, digits and underscores. Received: name='Toy-GAN'"):
        recipes.register_recipe("Toy-GAN", paper="-")
    with pytest.raises(TypeError):
        recipes.RECIPES["x"] = recipes.DCGAN  # read-only: only the decorator registers
