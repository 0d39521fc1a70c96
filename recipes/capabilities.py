"""What a recipe can do, declared once per recipe in its `capabilities`: zoo/ and hub_export/ read these
names instead of probing for methods or switching on a task string."""

SAMPLE = "sample"          # z → image: `latent_dim`, `sampling_generator`
CONDITION = "condition"    # class labels as a second input: `num_classes`
TRUNCATE = "truncate"      # the truncation trick: `generate_truncated(z, ψ)`
MIX_STYLES = "mix_styles"  # per-layer style mixing: `mix_styles(seeds_a, seeds_b, crossover)`, `num_layers`
TRANSLATE = "translate"    # image → image between two domains, trained on unpaired examples: `translate`
UPSCALE = "upscale"        # low resolution → high resolution: `upscale`
TRAIN = "train"            # can be built fresh and trained (an exported SavedModel cannot)
TASKS = {SAMPLE: "sampling", TRANSLATE: "translation", UPSCALE: "super_resolution"}  # default `task` of a recipe


def task_of(capabilities):
    """The task name (zoo.tasks) of the built-in kinds: "sampling", "translation" or "super_resolution" for
    capabilities holding SAMPLE, TRANSLATE or UPSCALE; None for none of them (the recipe names its `task`)."""
    return next((task for capability, task in TASKS.items() if capability in capabilities), None)
