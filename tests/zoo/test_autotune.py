"""The training path is chosen by measurement, recorded and cached per machine fingerprint (a fake timer)."""
import pytest

from zoo.files import read_json
from zoo.train import autotune
from zoo.train.autotune import Path

AVX2 = {"avx2", "fma"}
AVX512_BF16 = AVX2 | {"avx512f", "avx512_bf16"}


def each_path(time_path):
    """A `measure` for choose_path from a per-path fake timer."""
    return lambda paths: {path.name: time_path(path) for path in paths}


@pytest.mark.parametrize("xla_options, bfloat16_options, expected", [
    ([False, True], [False], ["graph", "xla"]),
    ([False], [False], ["graph"]),
    ([False, True], [False, True], ["graph", "xla", "graph+bfloat16", "xla+bfloat16"]),
    ([False], [False, True], ["graph", "graph+bfloat16"]),
    ([True], [True], ["xla+bfloat16"]),
    ([False, True], [], []),
])
def test_candidates_are_every_compile_and_precision_choice(xla_options, bfloat16_options, expected):
    paths = autotune.candidates(xla_options, bfloat16_options)
    assert [path.name for path in paths] == expected
    assert [Path.from_name(name) for name in expected] == paths


def test_a_mixed_path_is_named_by_the_type_it_computes_in(monkeypatch):
    """On a GPU mixed precision is float16 (Keras's mixed_float16): the path, its record and cache say so."""
    import keras
    import tensorflow as tf

    from zoo.train import strategy

    assert [path.name for path in autotune.candidates([False, True], [True], "float16")] == ["graph+float16",
                                                                                            "xla+float16"]
    assert Path.from_name("xla+float16") == Path(xla=True, mixed=True, half="float16")
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["/GPU:0"] if kind == "GPU" else [])
    with strategy.kept_dtype_policy():
        assert strategy.half_precision() == "float16"
        assert strategy.set_mixed_precision(True) == "mixed_float16" == keras.config.dtype_policy().name


@pytest.mark.parametrize("flags, native", [(AVX2, False), (AVX512_BF16, True), ({"amx_bf16"}, True), (set(), False)])
def test_native_bfloat16_is_read_from_the_cpu_flags(flags, native):
    assert autotune.native_bfloat16(flags) is native


@pytest.mark.parametrize("requested, checked, one_device, previous, flags, environment, expected", [
    (None, True, True, None, AVX512_BF16, "auto", ([False, True], [])),  # measured: either may be chosen
    (None, False, True, None, AVX512_BF16, "auto", ([False], [True])),  # not checked: timed for a hint only
    (None, True, True, None, AVX2, "auto", ([False], [])),  # no native bfloat16: float32
    (None, True, False, None, AVX512_BF16, "auto", ([False], [])),  # several devices: nothing is measured
    (None, True, True, None, AVX512_BF16, "0", ([False], [])),  # GAN_ZOO_XLA=0 (the test suite's): float32
    (False, True, True, None, AVX512_BF16, "auto", ([False], [])),  # --no-mixed-precision
    (True, False, True, None, AVX2, "auto", ([True], [])),  # --mixed-precision, wherever
    (None, True, True, False, AVX512_BF16, "auto", ([False], [])),  # a resumed float32 run stays float32
    (None, False, True, True, AVX2, "0", ([True], [])),  # a resumed bfloat16 run stays bfloat16
    (True, True, True, False, AVX512_BF16, "auto", ([True], [])),  # asked: check_same_run refuses the change
])
def test_which_precisions_a_run_may_take(monkeypatch, requested, checked, one_device, previous, flags, environment,
                                         expected):
    from zoo.train.strategy import XLA_ENV, mixed_precision_candidates

    monkeypatch.setattr(autotune, "cpu_flags", lambda: flags)
    monkeypatch.setenv(XLA_ENV, environment)
    assert mixed_precision_candidates(requested, checked, one_device, previous) == expected


def test_bfloat16_may_be_chosen_for_the_recipes_checked_in_it():
    """DCGAN and its configurations (FIDs in bfloat16 as good as float32's, in DCGAN's docstring); not their
    2-D-point MLP, nor recipes nobody checked."""
    import recipes

    image = (28, 28, 1)
    assert recipes.DCGAN.trains_in_bfloat16({}, image) and recipes.WGANGP.trains_in_bfloat16({}, image)
    assert recipes.LSGAN.trains_in_bfloat16({"width": 8}, image)
    assert not recipes.DCGAN.trains_in_bfloat16({}, (1, 1, 2))  # points: the MLP
    assert not recipes.DCGAN.trains_in_bfloat16({"network": "mlp"}, image)
    assert not recipes.DCGAN.trains_in_bfloat16({"network": "foo"}, image)  # refused when the recipe is built
    assert not recipes.CGAN.trains_in_bfloat16({}, image) and not recipes.SNGAN.trains_in_bfloat16({}, image)


def test_the_fastest_path_is_chosen_recorded_and_cached(tmp_path):
    cache = str(tmp_path / "paths.json")
    seconds = {"graph": 0.040, "xla": 0.052, "graph+bfloat16": 0.046}
    timed = []

    def time_path(path):
        timed.append(path.name)
        return seconds[path.name]

    paths = [Path.from_name(name) for name in seconds]
    chosen, record = autotune.choose_path("machine-a", paths, each_path(time_path), cache)
    assert chosen == Path(xla=False) and timed == list(seconds)
    assert record["path"] == "graph" and record["seconds_per_step"] == seconds
    assert record["why"] == "fastest of 3 measured: graph 40.0 ms, graph+bfloat16 46.0 ms, xla 52.0 ms"
    assert read_json(cache) == {"machine-a": {"path": "graph", "seconds_per_step": seconds}}

    def must_not_time(path):
        raise AssertionError("the cached choice is used without timing")

    again, record = autotune.choose_path("machine-a", paths, each_path(must_not_time), cache)
    assert again == chosen and record["why"].startswith("measured before on this machine")
    seconds["xla"] = 0.020  # another machine (another key): timed again, both kept
    other, _ = autotune.choose_path("machine-b", paths, each_path(time_path), cache)
    assert other == Path(xla=True) and sorted(read_json(cache)) == ["machine-a", "machine-b"]
    # a cached path that is no longer a candidate (here: XLA cannot run) is measured again
    timed.clear()
    graph_only = [Path(xla=False), Path(xla=False, mixed=True)]
    chosen, _ = autotune.choose_path("machine-b", graph_only, each_path(time_path), cache)
    assert chosen == Path(xla=False) and timed == ["graph", "graph+bfloat16"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"k": "graph"}', '{"k": {"path": "tpu"}}',
                                     '{"k": {"path": "graph", "seconds_per_step": {"xla+bfloat16": 0.01}}}'])
def test_a_damaged_cache_is_measured_again(tmp_path, content):
    cache = tmp_path / "paths.json"
    cache.write_text(content)
    chosen, record = autotune.choose_path("k", [Path(xla=False), Path(xla=True)], each_path(lambda path: 0.03 if path.xla else 0.05),
                                          str(cache))
    assert chosen == Path(xla=True) and record["why"].startswith("fastest of 2 measured")
    assert read_json(str(cache))["k"]["path"] == "xla"


def test_bfloat16_timed_for_the_record_only_is_a_hint_never_a_choice(tmp_path):
    """A recipe not checked in bfloat16, on a CPU with native bfloat16, times the bfloat16 paths too; it keeps
    float32 (bfloat16 changes the numerics) and says how much faster --mixed-precision measured."""
    from zoo.train.loop import bfloat16_hint

    seconds = {"graph": 0.1364, "xla": 0.4075, "graph+bfloat16": 0.0976, "xla+bfloat16": 0.3226}
    paths = autotune.candidates([False, True], [False, True])
    chosen, record = autotune.choose_path("k", paths, each_path(lambda path: seconds[path.name]), str(tmp_path / "paths.json"),
                                          eligible=[path for path in paths if not path.mixed])
    assert chosen == Path(xla=False) and record["seconds_per_step"] == seconds
    assert record["why"] == "fastest of 2 measured: graph 136.4 ms, xla 407.5 ms"
    assert bfloat16_hint(record) == "; bfloat16 (--mixed-precision) measured 1.40× faster: graph+bfloat16 97.6 ms"
    assert bfloat16_hint({**record, "seconds_per_step": {**seconds, "graph+bfloat16": 0.2}}) == ""


def test_an_unusable_cache_is_measured_and_not_written(tmp_path):
    """A read-only or broken cache directory (an HPC node's home, a pod) costs the probe each time, never the run."""
    (tmp_path / "file").write_text("")
    chosen, record = autotune.choose_path("k", [Path(xla=False), Path(xla=True)], each_path(lambda path: 0.03 if path.xla else 0.05),
                                          str(tmp_path / "file" / "paths.json"))
    assert chosen == Path(xla=True) and record["why"].startswith("fastest of 2 measured")


def test_a_path_that_fails_in_the_probe_is_recorded_and_not_chosen(tmp_path):
    seconds = {"graph": 0.05, "xla": None}  # XLA failed to compile, say
    chosen, record = autotune.choose_path("k", [Path(xla=False), Path(xla=True)], each_path(lambda path: seconds[path.name]),
                                          str(tmp_path / "paths.json"))
    assert chosen == Path(xla=False) and record["why"] == "fastest of 2 measured: graph 50.0 ms, xla failed"


def test_one_candidate_is_taken_without_timing(tmp_path):
    chosen, record = autotune.choose_path("k", [Path(xla=False)], None, str(tmp_path / "paths.json"))
    assert chosen == Path(xla=False) and record == {"path": "graph", "why": "the only path that can run here"}
    assert not (tmp_path / "paths.json").exists()


def test_paths_are_timed_in_turn_after_warmup_and_the_median_kept():
    """One step of each path in turn, the order reversed every other round; a failing path drops out as None."""
    calls, ticks = [], iter([0.0, 0.5, 1.0, 1.1, 2.0, 2.2, 3.0, 3.3, 4.0, 4.1, 5.0, 5.4])

    def steps(name, fail_at=None):
        def run(count):
            calls.append((name, count))
            if fail_at is not None and len([c for c in calls if c[0] == name]) == fail_at:
                raise autotune.PathFailed(name)
        return run

    seconds = autotune.interleaved_seconds({"graph": steps("graph"), "xla": steps("xla"), "bad": steps("bad", 1)},
                                           warmup=3, steps=3, clock=lambda: next(ticks))
    assert calls[:3] == [("graph", 3), ("xla", 3), ("bad", 3)]  # warm-up; "bad" fails there
    assert calls[3:] == [("graph", 1), ("xla", 1), ("xla", 1), ("graph", 1), ("graph", 1), ("xla", 1)]
    # graph's steps took 0.5, 0.3, 0.1 s; xla's 0.1, 0.2, 0.4 s
    assert seconds == {"graph": pytest.approx(0.3), "xla": pytest.approx(0.2), "bad": None}


def test_the_fingerprint_depends_on_the_workload_and_is_stable(monkeypatch):
    workload = {"recipe": "dcgan", "shape": [28, 28, 1], "batch": 64, "strategy": "default"}
    assert autotune.fingerprint(workload) == autotune.fingerprint(dict(workload))
    assert autotune.fingerprint({**workload, "batch": 128}) != autotune.fingerprint(workload)
    key = autotune.fingerprint(workload)
    with monkeypatch.context() as patched:
        patched.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # another kernel library: another machine, as far as speed goes
        assert autotune.fingerprint(workload) != key
    assert autotune.fingerprint(workload) == key
    assert len(autotune.modelling_code()) == 16
    monkeypatch.setattr(autotune, "modelling_code", lambda: "another step")  # e.g. a fused layer: measured again
    assert autotune.fingerprint(workload) != key


def test_a_new_run_measures_its_path_records_it_and_trains_as_if_nothing_was_measured(tmp_path, monkeypatch):
    """With no path forced, a new run times TensorFlow's graph and XLA on throwaway copies of its step (here
    each probe really runs its steps; the clock is fake so XLA wins), trains on the winner, records why, and
    ends with the weights of a run told --xla from the start. A resumed run keeps its path, unmeasured."""
    import keras
    import numpy as np

    from zoo import files
    from zoo.train.config import TrainConfig
    from zoo.train.loop import train

    monkeypatch.setenv("GAN_ZOO_XLA", "auto")
    monkeypatch.setattr(files, "CACHE_DIR", str(tmp_path / "cache"))
    probes = []

    def fake_seconds(runs, warmup, steps, clock=None):
        for run_steps in runs.values():
            run_steps(2)  # the probe's recipes really step: their graph is traced, or XLA-compiled
        probes.append(list(runs))
        return {"graph": 0.05, "xla": 0.02}

    monkeypatch.setattr(autotune, "interleaved_seconds", fake_seconds)
    monkeypatch.setattr(autotune, "cpu_flags", set)  # float32 candidates only, on any CPU
    tiny = dict(recipe="dcgan", steps=2, batch_size=8, sample_every=100, log_every=1, verbose=0,
                recipe_args={"width": 8, "latent_dim": 8})
    state = train(TrainConfig(out=str(tmp_path / "measured"), **tiny))
    session = state["sessions"][-1]
    assert probes == [["graph", "xla"]] and session["xla"] is True
    assert session["path"]["path"] == "xla" and session["path"]["why"] == \
        "fastest of 2 measured: xla 20.0 ms, graph 50.0 ms"
    forced = train(TrainConfig(out=str(tmp_path / "forced"), jit_compile=True, **tiny))
    assert "path" not in forced["sessions"][-1] and len(probes) == 1

    def generator_weights(run):
        from zoo.train.run_directory import recipe_from_run

        return [keras.ops.convert_to_numpy(w) for w in recipe_from_run(run)[0].generator.weights]

    for a, b in zip(generator_weights(str(tmp_path / "measured")), generator_weights(str(tmp_path / "forced"))):
        np.testing.assert_array_equal(a, b)
    resumed = train(TrainConfig(out=str(tmp_path / "measured"), **{**tiny, "steps": 3}))
    assert len(probes) == 1 and resumed["sessions"][-1]["xla"] is True and "path" not in resumed["sessions"][-1]


def test_data_the_recipe_cannot_take_is_refused_before_anything_is_measured(tmp_path, monkeypatch, capsys):
    """Found by review: with the measured default, a class-conditional recipe on a folder without labels traced
    throwaway recipes first and died with a traceback."""
    import numpy as np
    from PIL import Image

    from zoo import cli

    monkeypatch.setenv("GAN_ZOO_XLA", "auto")
    monkeypatch.setattr(autotune, "interleaved_seconds", lambda *args, **kwargs: pytest.fail("measured"))
    (tmp_path / "pictures").mkdir()
    for index in range(4):
        Image.fromarray(np.full((28, 28), 40 * index, np.uint8)).save(tmp_path / "pictures" / f"{index}.png")
    assert cli.main(["train", "cgan", "--dataset", str(tmp_path / "pictures"), "--out", str(tmp_path / "run")]) == 2
    assert "cgan is class-conditional but dataset" in capsys.readouterr().err


TINY_RUN = dict(recipe="dcgan", steps=2, batch_size=8, sample_every=100, log_every=1, verbose=0,
                recipe_args={"width": 8, "latent_dim": 8})


@pytest.fixture
def measured_here(tmp_path, monkeypatch):
    """The default path users run (GAN_ZOO_XLA unset), a cache of the test's own, on a CPU with native bfloat16
    (fake flags) whatever this one has."""
    from zoo import files

    monkeypatch.setenv("GAN_ZOO_XLA", "auto")
    monkeypatch.setattr(files, "CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(autotune, "cpu_flags", lambda: AVX512_BF16)


def test_mixed_bfloat16_is_chosen_where_checked_and_fastest_and_kept_on_resume(tmp_path, monkeypatch, measured_here):
    """DCGAN --no-xla (nothing to compile here) on a fake clock where bfloat16 is faster: the run times both
    precisions on throwaway recipes built in each (their steps really run), then builds its own networks in mixed
    bfloat16 and ends with the weights of a run told --mixed-precision (not a float32 run's); run.json records the
    path, its precision and why; the choice is cached; a resumed run keeps bfloat16 unmeasured (--no-mixed-precision
    is refused there); the caller's dtype policy is given back."""
    import json

    import keras
    import numpy as np

    from zoo.errors import UserError
    from zoo.train import loop
    from zoo.train.config import TrainConfig
    from zoo.train.run_directory import recipe_from_run

    seconds, probes, built = {"graph": 0.05, "graph+bfloat16": 0.03}, [], []

    def fake_seconds(runs, warmup, steps, clock=None):
        for run_steps in runs.values():
            run_steps(1)
        probes.append(list(runs))
        return {name: seconds[name] for name in runs}

    def run_recipe(config, shape):  # which precision each recipe was asked for, and the policy it was built under
        built.append((config.mixed_precision, keras.config.dtype_policy().name))
        return real_run_recipe(config, shape)

    real_run_recipe = loop.run_recipe
    monkeypatch.setattr(autotune, "interleaved_seconds", fake_seconds)
    monkeypatch.setattr(loop, "run_recipe", run_recipe)

    def run(name, **settings):
        state = loop.train(TrainConfig(out=str(tmp_path / name), **{**TINY_RUN, "jit_compile": False, **settings}))
        assert keras.config.dtype_policy().name == "float32"  # the caller's, given back
        return state, json.load(open(tmp_path / name / "run.json"))

    state, description = run("measured")
    assert probes == [["graph", "graph+bfloat16"]]
    assert built == [(False, "float32"), (True, "mixed_bfloat16"), (True, "mixed_bfloat16")]
    assert description["dtype_policy"] == "mixed_bfloat16"
    assert description["training_path"] == state["sessions"][-1]["path"] == {
        "path": "graph+bfloat16", "seconds_per_step": seconds,
        "why": "fastest of 2 measured: graph+bfloat16 30.0 ms, graph 50.0 ms"}
    state, description = run("cached")
    assert len(probes) == 1 and description["dtype_policy"] == "mixed_bfloat16"
    assert description["training_path"]["why"].startswith("measured before on this machine")
    run("forced", mixed_precision=True)
    run("float32", mixed_precision=False)
    assert len(probes) == 1 and built[-2:] == [(True, "mixed_bfloat16"), (False, "float32")]

    def generator_weights(name):
        return [keras.ops.convert_to_numpy(w) for w in recipe_from_run(str(tmp_path / name))[0].generator.weights]

    measured, forced, float32 = map(generator_weights, ("measured", "forced", "float32"))
    for a, b in zip(measured, forced):
        np.testing.assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(measured, float32))  # the precision changed the numbers
    monkeypatch.setattr(autotune, "cpu_flags", lambda: AVX2)  # a probe now would take float32: none runs
    state, description = run("measured", steps=3)
    assert len(probes) == 1 and built[-1] == (True, "mixed_bfloat16") and state["step"] == 3
    assert description["dtype_policy"] == "mixed_bfloat16" and "path" not in state["sessions"][-1]
    with pytest.raises(UserError, match="different configuration \\(dtype_policy changed\\)"):
        run("measured", steps=4, mixed_precision=False)


@pytest.mark.parametrize("case, settings, expected", [
    ("a recipe not checked in bfloat16", {"recipe": "cgan"}, "graph"),
    ("DCGAN's 2-D points", {"recipe_args": {"network": "mlp"}}, "graph"),
    ("--mixed-precision", {"mixed_precision": True}, "graph+bfloat16"),
    ("--no-mixed-precision", {"mixed_precision": False}, "graph"),
])
def test_where_one_path_is_left_nothing_is_measured(tmp_path, monkeypatch, measured_here, case, settings, expected):
    """--no-xla on a CPU with native bfloat16: only where both precisions are eligible is anything measured."""
    import tensorflow as tf

    from zoo.train import loop
    from zoo.train.config import TrainConfig

    monkeypatch.setattr(autotune, "interleaved_seconds", lambda *args, **kwargs: pytest.fail(f"{case}: measured"))
    config = TrainConfig(out=str(tmp_path / "run"), **{**TINY_RUN, "jit_compile": False, **settings})
    path, record = loop.training_path(config, tf.distribute.get_strategy(), None, (28, 28, 1))
    assert (path.name, record) == (expected, None)
