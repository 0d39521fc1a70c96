"""Shared machinery of the adversarial recipes.

A recipe is a `keras.Model` that owns a generator and a discriminator (built in
`__init__` from its constructor arguments), one optimizer per player, loss
trackers, a seed generator and optionally an EMA copy of the generator. Its
`train_step` states the adversarial objective with `update()`, which takes one
gradient step of one network on a per-example loss averaged over the *global*
batch, so one step under `tf.distribute` equals one step on a single device at
the same global batch (optimizers sum gradients across replicas).
"""
import inspect

import keras
import numpy as np
import tensorflow as tf

from recipes.augment import diff_augment, parse_policies
from recipes.capabilities import CONDITION, SAMPLE, TRAIN, task_of
from recipes.latents import slerp, stream_latents
from recipes.layers import check_image_shape


def replica_context():
    """(replica id, number of replicas in sync) for the running replica; (0, 1) off-strategy."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: one logical "replica"
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def global_batch_mean(per_example):
    """Σᵢ lossᵢ / global batch size, where global = local batch × replicas in sync.

    Summed over replicas (as optimizers sum gradients) this is the mean over the
    global batch: the reduction `tf.nn.compute_average_loss` performs."""
    per_example = tf.cast(per_example, tf.float32)
    _, replicas = replica_context()
    return tf.reduce_sum(per_example) / tf.cast(tf.shape(per_example)[0] * replicas, tf.float32)



def replica_total(values):
    """Σ over the replicas in sync of `values` (a tensor or a nest of them; themselves on one device), the same on
    every replica: an all-reduce, whose gradient is the all-reduced gradient (each replica's summand gets every
    replica's)."""
    if replica_context()[1] == 1:
        return values
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)


def cross_replica_mean(per_example):
    """Σᵢ valueᵢ / global batch size over every replica's examples (axis 0; [batch, F] values: one mean per
    feature): the global batch's mean, the same on every replica (one device: the batch mean). For statistics a
    loss needs inside its formula (the relativistic average GANs' E[C(x)], feature matching's E f(x)); the sum is
    all-reduced, and so is its gradient, so each replica's examples get the gradient of every replica's loss terms
    (summed over replicas: the one-device gradient)."""
    per_example = tf.cast(per_example, tf.float32)
    total = replica_total(tf.reduce_sum(per_example, axis=0))
    return total / tf.cast(tf.shape(per_example)[0] * replica_context()[1], tf.float32)

def split_labels(data):
    """Keras hands `train_step` either `images` or `(images, labels)`."""
    if isinstance(data, (tuple, list)):
        return data[0], (data[1] if len(data) > 1 else None)
    return data, None


def batch_size(images):
    """The local batch size: static when known, else a scalar tensor (a batch of unknown size, as Keras's
    `fit` traces for arrays or for a dataset batched without drop_remainder) on one replica; replicas in
    sync need one known size (the global batch is local × replicas, and a last batch would split unevenly)."""
    if images.shape[0] is not None:
        return images.shape[0]
    if replica_context()[1] > 1:
        raise ValueError("Under a distribution strategy the recipes take batches of one known size: pass fit a "
                         "tf.data.Dataset batched with drop_remainder=True. Received a batch of unknown size")
    return tf.shape(images)[0]


class GAN(keras.Model):
    """Base class: subclasses set `loss_names`, `optimizer_defaults`, implement
    `build_generator()`, `build_discriminator()` (or `build_networks()` for more players)
    and `train_step()`, and extend `get_config()` with their own constructor arguments."""

    loss_names = ("d_loss", "g_loss")
    optimizer_defaults = {"learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999}
    # player kind ("g", "d") → its own default learning rate (the two time-scale update rule, TTUR: SAGAN's D 4e-4)
    player_learning_rates = {}
    # optimizer attribute → (player kind: "g" or "d", the networks it trains); the first is the generator's
    players = {"g_optimizer": ("g", ("generator",)), "d_optimizer": ("d", ("discriminator",))}
    capabilities = frozenset({SAMPLE, TRAIN})
    task, conditional = task_of(capabilities), CONDITION in capabilities  # subclasses: __init_subclass__
    real_batches_per_step = 1  # real batches one train_step consumes (WGAN-GP: n_critic)
    xla_compatible = True  # every op of train_step has an XLA kernel (jit_compile can run it)
    xla_by_default = True  # XLA is a candidate zoo.train measures by default (False: its compile is too slow to try)
    fixed_arguments = ()  # constructor arguments of a base class that this recipe sets itself (WGANGP: loss, ...)
    discriminator_heads = ("scalar",)  # the `losses.Head` kinds its discriminator gives (one value; DCGAN: any)
    bfloat16_checked = False  # trained in mixed bfloat16 to float32's quality (same-budget FID): zoo.train may pick it

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "task" not in cls.__dict__:  # a recipe of a task registered outside recipes/ names it itself
            cls.task = task_of(cls.capabilities) or cls.task
        cls.conditional = CONDITION in cls.capabilities

    @classmethod
    def constructor_arguments(cls):
        """{name: inspect.Parameter} of the constructor arguments of this recipe and its bases (a subclass's
        default wins), without `fixed_arguments`: what a user may set."""
        parameters = {}
        for base in reversed(cls.__mro__):
            if issubclass(base, GAN):
                own = inspect.signature(base.__init__).parameters
                parameters.update({name: own[name] for name in own if name not in ("self", "kwargs")})
        return {name: parameter for name, parameter in parameters.items() if name not in cls.fixed_arguments}

    @classmethod
    def settled_defaults(cls, config):
        """`config` (constructor arguments) with each argument whose default depends on the others (None: "the
        loss's own") replaced by the value a recipe built from `config` takes: what a run.json written before the
        argument existed ran with."""
        return config

    @classmethod
    def fitted_data(cls, image_shape):
        """How training brings images of `image_shape` (H, W, C) to a size this recipe takes when the
        user chose none: None (as they are), or {"image_size": side, "crop": how}."""
        return None

    @classmethod
    def trains_in_bfloat16(cls, settings, image_shape):
        """Whether zoo.train may choose mixed bfloat16 (when it measures faster) for this recipe with constructor
        `settings` on `image_shape` (H, W, C) images: where its quality was checked in bfloat16 (`bfloat16_checked`)."""
        return cls.bfloat16_checked

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), ema_decay: float = None, seed=None, augment=None,
                 ema_rampup: float = None, **kwargs):
        super().__init__(**kwargs)
        self.augment_policies = parse_policies(augment)
        if self.augment_policies and SAMPLE not in self.capabilities:
            raise ValueError(f"`augment` (DiffAugment) is for sampling recipes; this recipe does {self.task}. "
                             f"Received: augment={augment!r}")
        if int(latent_dim) < 1:
            raise ValueError(f"`latent_dim` must be a positive integer. Received: latent_dim={latent_dim!r}")
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(f"`ema_decay` must be None or in (0, 1). Received: ema_decay={ema_decay!r}")
        if ema_rampup is not None and (ema_decay is None or not 0.0 < float(ema_rampup) <= 1.0):
            raise ValueError("`ema_rampup` must be None or in (0, 1], with an `ema_decay` to cap it. "
                             f"Received: ema_rampup={ema_rampup!r}, ema_decay={ema_decay!r}")
        self.latent_dim = int(latent_dim)
        self.image_shape = check_image_shape(image_shape)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_rampup = None if ema_rampup is None else float(ema_rampup)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.build_networks()
        self.ema_generator = None
        if self.ema_decay is not None:
            self.ema_generator = self.generator_copy()
            self.ema_generator.set_weights(self.generator.get_weights())
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}
        self.built = True

    # --- networks -------------------------------------------------------------
    def build_networks(self):
        self.generator = self.build_generator()
        self.discriminator = self.build_discriminator()

    def build_generator(self):
        raise NotImplementedError

    def build_discriminator(self):
        raise NotImplementedError

    def generator_copy(self):
        """A new network of `generator`'s architecture (the EMA generator; its weights are copied after):
        `clone_model`. A generator that is a functional subclass built from its own arguments is rebuilt
        instead (`clone_model` returns a plain functional model, without the subclass's attributes)."""
        return keras.models.clone_model(self.generator)

    def call(self, inputs, training=False):
        """The generator: latent z (and labels for conditional recipes) → images in [-1, 1]."""
        return self.generator(inputs, training=training)

    def preview_inputs(self, seed, real_batch=None):
        """Fixed inputs for progress grids: 64 latents (conditional: 8 per class, one column
        per class). `real_batch` is a batch of training data, for recipes that translate."""
        count = self.num_classes * 8 if self.conditional else 64
        z = stream_latents(seed, 0, count, self.latent_dim)
        return [z, np.arange(count, dtype=np.int32) % self.num_classes] if self.conditional else z

    def preview(self, inputs):
        """(images in [-1, 1], grid columns) for `preview_inputs`."""
        return self.sampling_generator(inputs, training=False), self.num_classes if self.conditional else 8

    def interpolate(self, z_a, z_b, fractions, labels=None, truncation=1.0):
        """Images in [-1, 1] (numpy) along the path from z_a to z_b at `fractions` in [0, 1] (0: z_a's
        image, 1: z_b's): spherical interpolation in z (`latents.slerp`); conditional recipes take one
        label per fraction. Truncation needs a mapping network (TRUNCATE recipes override this)."""
        if truncation != 1.0:
            raise ValueError(f"{type(self).__name__} has no truncation; received truncation={truncation!r}")
        z = slerp(z_a, z_b, fractions)
        return np.asarray(self.sampling_generator(z if labels is None else [z, labels], training=False))

    def networks(self, role):
        """{attribute name: network} of the players with `role` "g" or "d" (see `players`)."""
        return {name: getattr(self, name) for kind, names in self.players.values() if kind == role for name in names}

    def step_input_shapes(self, name):
        """Per-example shapes of network `name`'s inputs in a training step, one per input (what memory checks
        count); recipes whose networks take any size (SRGAN's generator) override it."""
        return [tuple(tensor.shape[1:]) for tensor in getattr(self, name).inputs]

    @property
    def sampling_generator(self):
        """The generator to sample from: the EMA copy when the recipe keeps one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    # --- compile / serialization --------------------------------------------
    def default_optimizer(self, player=None, **overrides):
        """Adam with the recipe's defaults (`optimizer_defaults`; the learning rate of a `player` kind, "g" or "d",
        from `player_learning_rates` when it has one) and any overrides."""
        rate = self.player_learning_rates.get(player)
        defaults = {**self.optimizer_defaults, **({} if rate is None else {"learning_rate": rate})}
        return keras.optimizers.Adam(**{**defaults, **overrides})

    def player_variables(self, optimizer_name):
        """Trainable variables of the networks that optimizer `optimizer_name` updates."""
        return [v for network in self.players[optimizer_name][1] for v in getattr(self, network).trainable_variables]

    def compile(self, jit_compile=False, **kwargs):
        """One optimizer per player, passed by name (`g_optimizer=`, `d_optimizer=`, ...; the recipe's
        Adam defaults when omitted). `self.optimizer` is the first (the generator's), so
        `self.optimizer.iterations` counts generator steps."""
        optimizers = {name: kwargs.pop(name, None) or self.default_optimizer(kind)
                      for name, (kind, _) in self.players.items()}
        if keras.config.dtype_policy().name == "mixed_float16":
            optimizers = {name: opt if isinstance(opt, keras.optimizers.LossScaleOptimizer)
                          else keras.optimizers.LossScaleOptimizer(opt) for name, opt in optimizers.items()}
        super().compile(optimizer=optimizers[next(iter(self.players))], jit_compile=jit_compile, **kwargs)
        for name, optimizer in optimizers.items():
            setattr(self, name, optimizer)
            optimizer.build(self.player_variables(name))

    @property
    def player_optimizers(self):
        return {name: getattr(self, name) for name in self.players}

    def get_compile_config(self):
        if not self.compiled:
            return None
        return {name: keras.saving.serialize_keras_object(opt) for name, opt in self.player_optimizers.items()}

    def compile_from_config(self, config):
        self.compile(**{name: keras.saving.deserialize_keras_object(config[name]) for name in self.players})

    def get_config(self):
        return {
            "name": self.name,
            "latent_dim": self.latent_dim,
            "image_shape": list(self.image_shape),
            "ema_decay": self.ema_decay,
            "seed": self.seed,
            "augment": ",".join(self.augment_policies) or None,
            "ema_rampup": self.ema_rampup,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- pieces of a train step -----------------------------------------------
    def replica_random(self, sample, local_batch, *shape):
        """Draw `sample(shape=[global batch, *shape], seed=...)` and keep this replica's rows.

        Every replica draws the same global batch from the same seed, so example i
        gets the same noise under any number of replicas (and on one device). The
        algorithm is Philox everywhere (TF's default may pick another per device).
        XLA-compiled steps draw other numbers from the same seeds: XLA's generators are
        not bit-compatible with TensorFlow's kernels."""
        replica, replicas = replica_context()
        values = sample(shape=[local_batch * replicas, *shape], seed=self.seed_generator.next(), alg="philox")
        return values[replica * local_batch : (replica + 1) * local_batch]

    def latent(self, local_batch):
        """z ~ N(0, I) of shape [local_batch, latent_dim]."""
        return self.replica_random(tf.random.stateless_normal, local_batch, self.latent_dim)

    def uniform(self, local_batch, *shape):
        """u ~ U(0, 1) of shape [local_batch, *shape]."""
        return self.replica_random(tf.random.stateless_uniform, local_batch, *shape)

    def augmented(self, images):
        """T(images): the recipe's DiffAugment policies (`recipes.augment`), one draw per example from the
        replica-consistent stream; the images unchanged when `augment` is None. Every image the
        discriminator sees in training passes through this, real and generated alike."""
        if not self.augment_policies:
            return images
        local_batch = batch_size(images)
        return diff_augment(images, self.augment_policies, lambda *shape: self.uniform(local_batch, *shape))

    def fake(self, local_batch, labels=None):
        """G(z) for fresh z (conditioned on `labels` for conditional recipes), in training mode."""
        z = self.latent(local_batch)
        return self.generator(z if labels is None else [z, labels], training=True)

    def update(self, network, optimizer, loss_fn):
        """One gradient step of `network`'s trainable weights on loss_fn().

        `loss_fn` returns per-example losses, or a dict of per-example terms whose
        "loss" entry is minimised (the others are only reported). Returns the
        global-batch means of the terms. A `loss_fn` may also return (losses or terms,
        extras): extras (a dict of tensors it computed, e.g. the generated images) come
        back as they are, and `update` returns (means, extras)."""
        return self.apply_update([(optimizer, network.trainable_variables)], loss_fn)

    def update_jointly(self, optimizer_names, loss_fn):
        """One step of several players on one shared loss (e.g. CycleGAN's two generators),
        each through its own optimizer; `loss_fn` and the result as for `update`."""
        return self.apply_update([(getattr(self, name), self.player_variables(name)) for name in optimizer_names],
                                 loss_fn)

    def apply_update(self, optimizers_and_variables, loss_fn):
        with tf.GradientTape(persistent=len(optimizers_and_variables) > 1) as tape:
            returned = loss_fn()
            terms, extras = returned if isinstance(returned, tuple) else (returned, None)
            if not isinstance(terms, dict):
                terms = {"loss": terms}
            means = {name: global_batch_mean(value) for name, value in terms.items()}
            scaled = [optimizer.scale_loss(means["loss"]) for optimizer, _ in optimizers_and_variables]
        for (optimizer, variables), loss in zip(optimizers_and_variables, scaled):
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        del tape
        return means if extras is None else (means, extras)

    def current_ema_decay(self):
        """d of this step: `ema_decay`, or with `ema_rampup` r, min(ema_decay, 0.5^(1 / (r·t))) after the
        generator's t-th step (t from its optimizer): an EMA whose half-life is r·t steps, so it starts
        from the current weights and lengthens its horizon as training goes (StyleGAN2-ADA's ema_rampup,
        Karras et al. 2020, arXiv:2006.06676). A fine-tune's fresh optimizer makes t its own steps."""
        if self.ema_rampup is None:
            return self.ema_decay
        steps = tf.maximum(tf.cast(self.optimizer.iterations, tf.float32), 1.0)
        return tf.minimum(self.ema_decay, 0.5 ** (1.0 / (self.ema_rampup * steps)))

    def update_ema(self):
        """ema ← d·ema + (1 - d)·w for trainable weights (d: `current_ema_decay`); buffers (BN statistics)
        are copied."""
        if self.ema_generator is None:
            return
        decay = self.current_ema_decay()
        for ema, weight in zip(self.ema_generator.trainable_weights, self.generator.trainable_weights):
            ema.assign(decay * ema + (1.0 - decay) * weight)
        for ema, weight in zip(self.ema_generator.non_trainable_weights, self.generator.non_trainable_weights):
            ema.assign(weight)

    def track(self, name, global_mean, weight=1.0):
        """Add a step's global-batch mean to tracker `name`, with `weight` (0: the step does not count).
        Trackers average the replicas' values, so each replica reports its local mean (= global-batch
        mean × replicas)."""
        _, replicas = replica_context()
        self.trackers[name].update_state(global_mean * replicas, sample_weight=weight)

    def finish_step(self, **global_means):
        """Update the EMA generator and the trackers; return the logs."""
        self.update_ema()
        for name, value in global_means.items():
            self.track(name, value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    @property
    def metrics(self):
        return list(self.trackers.values())
