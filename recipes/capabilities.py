"""What a recipe can do, declared once per recipe in its `capabilities`: zoo/ and hub_export/ read these
names instead of probing for methods or switching on a task string."""

SAMPLE = "sample"          # z → image: `latent_dim`, `sampling_generator`
CONDITION = "condition"    # class labels as a second input: `num_classes`
TRUNCATE = "truncate"      # the truncation trick: `generate_truncated(z, ψ)`
MIX_STYLES = "mix_styles"  # per-layer style mixing: `mix_styles(seeds_a, seeds_b, crossover)`, `num_layers`
TRANSLATE = "translate"    # image → image between two domains, trained on unpaired examples: `translate`
UPSCALE = "upscale"        # low resolution → high resolution: `upscale`
TRAIN = "train"            # can be built fresh and trained (an exported SavedModel cannot)
TASKS = {SAMPLE: "sampling", TRANSLATE: "translation", UPSCALE: "super_resolution"}  # a card's "task"


def kind_of(capabilities):
    """What the generator maps from and to: SAMPLE, TRANSLATE or UPSCALE (exactly one of them)."""
    return next(capability for capability in TASKS if capability in capabilities)


def task_of(capabilities):
    """The card's task name of a set of capabilities."""
    return TASKS[kind_of(capabilities)]
