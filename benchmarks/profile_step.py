"""Where a DCGAN training step's time goes: a TensorFlow profiler trace of our training path, read back here.

    python benchmarks/profile_step.py [--path graph|xla] [--mixed-precision] [--model ours|baseline] [--steps 20]

Runs what `gan-zoo train dcgan` runs per step (benchmarks/baseline_dcgan.py's `Ours`: build_recipe, the real
Fashion-MNIST feed, zoo.train.loop.run_steps with the TrainingMonitor and TensorBoard callbacks; `--model
baseline`: that benchmark's plain Keras DCGAN under `fit`, for comparison) on the path forced by --path (the
run's measured choice is not made here), `--warmup` untimed steps, `--steps` timed steps without the profiler,
then `--steps` steps under `tf.profiler.experimental` with one marker per loop iteration
(from one step's `on_train_batch_begin` to the next: the step, its callbacks and the loop). It then parses the
trace's XPlane file (`*.xplane.pb`, read with the protobuf TensorFlow ships; no TensorBoard plugin needed) and
splits each step's wall time into parts that add up to it:

- compute: some TensorFlow op (an executor thread's innermost op event, e.g. `_MklNativeConv2DBackpropInput`,
  shown without oneDNN's `_MklNative` prefix) or XLA thunk (HLO instructions, shown as `xla:convolution` etc.;
  an asynchronous thunk from its start to its "end: …" event) runs on some thread; a moment when k ops run at
  once counts 1/k to each, so the op columns add up to the compute time (the ops' summed thread time ÷ compute
  time is the parallelism);
- input wait: no op runs and the step waits for `IteratorGetNext` (the tf.data prefetch buffer);
- runtime gaps: no op runs, inside the `tf.function` call (executor scheduling, op dispatch, the function
  call's own overhead; under XLA also work on threads the trace does not show, and time the OS gave the
  cores to other processes);
- Python: outside the `tf.function` call (the loop, the callbacks, turning the logs into numbers).

Host overhead = runtime gaps + Python = wall − compute − input wait. tf.data's own background work (decoding,
batching on its threads) is shown as thread time beside the step: it overlaps the step but shares the cores.

The header states the machine (CPU model and vector flags, cores, load average: other processes on the same
cores stretch every part), the float32 and bfloat16 matmul peaks measured in this run, the path, the step time
with and without the profiler, and this process's CPU time per step (CPU time ÷ wall time: how many cores the
step kept busy; well under the usable cores with no op running means waiting, or cores taken by others).
Prints tables; asserts nothing.
"""
import argparse
import collections
import dataclasses
import glob
import os
import re
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

MARKER = "profile_step"  # the TraceMe around one loop iteration; its step_num stat numbers the steps
ITERATOR_OPS = {"IteratorGetNext", "IteratorGetNextSync", "IteratorGetNextAsOptional",
                "MultiDeviceIteratorGetNextFromShard"}
INPUT_EVENTS = {"IteratorGetNextOp::DoCompute"}  # the asynchronous IteratorGetNext's kernel
CALL_OPS = {"PartitionedCall", "StatefulPartitionedCall", "XlaLaunch", "_XlaRun", "_XlaCompile", "While",
            "StatelessWhile", "If", "StatelessIf", "Case", "StatelessCase"}  # their bodies' ops are the compute
FUNCTION_CALL = "EagerLocalExecute: __inference_"  # a tf.function call, on the calling (Python) thread
XLA_EXECUTE = "ThunkExecutor::Execute"  # XLA:CPU runs the compiled step's thunks inside this
# TensorFlow's TraceMe name of an op is "op_name:OpType" (tensorflow/core/profiler/utils/tf_op_utils.cc)
TF_OP = re.compile(r"^([a-zA-Z0-9.][a-zA-Z0-9_.\-/>]*):([A-Z_][a-zA-Z0-9_]*)$")


def op_type(op):
    """oneDNN's rewritten op types shown as TensorFlow's: _MklNativeConv2DBackpropInput → Conv2DBackpropInput,
    _MklMatMul → MatMul, _FusedConv2D → FusedConv2D."""
    for prefix in ("_MklNative", "_Mkl", "_"):
        if op.startswith(prefix):
            return op[len(prefix):]
    return op


def xla_kind(name):
    """An XLA thunk's HLO instruction, unnumbered: convolution-base-dilated.4 → xla:convolution-base-dilated."""
    name = name.removeprefix("end: ").removeprefix("wrapped_")
    return "xla:" + re.sub(r"\.\d+$", "", name)


@dataclasses.dataclass
class StepTime:
    """One loop iteration's wall time split into parts that add up to it (milliseconds)."""

    step: int
    wall: float
    ops: dict  # op type → ms of compute (a moment shared by k running ops counts 1/k to each)
    scopes: dict  # the ops' name scope (e.g. gradient_tape/discriminator/down1) → ms of compute, likewise
    input_wait: float
    runtime_gaps: float
    python: float
    op_thread_ms: float  # the ops' summed durations over all threads
    tfdata_thread_ms: float  # tf.data's background threads' busy time

    @property
    def compute(self):
        return sum(self.ops.values())

    @property
    def host(self):
        return self.runtime_gaps + self.python


# --- capture --------------------------------------------------------------------------------------------
class ProfileSteps(keras.callbacks.Callback):
    """Marks each loop iteration (from one `on_train_batch_begin` to the next), times the `timed` iterations
    after `warmup`, then traces the next `profiled` ones into `logdir`. Place it last in the callback list:
    an iteration then runs from the end of this step's batch-begin callbacks to the end of the next one's."""

    def __init__(self, logdir, warmup, timed, profiled):
        super().__init__()
        self.logdir, self.warmup, self.timed, self.profiled = logdir, warmup, timed, profiled
        self.calls, self.trace, self.last, self.seconds, self.cpu_seconds = 0, None, None, [], []
        self.profiled_cpu_seconds = []

    def start(self):  # the interface baseline_dcgan's `Ours.run` times with
        pass

    def finish(self):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        now, cpu = time.perf_counter(), time.process_time()
        if self.trace is not None:
            self.trace.__exit__(None, None, None)
            self.trace = None
        if self.warmup < self.calls <= self.warmup + self.timed:
            self.seconds.append(now - self.last)
            self.cpu_seconds.append(cpu - self.last_cpu)
        profiling = self.calls - self.warmup - self.timed
        if 0 < profiling <= self.profiled:
            self.profiled_cpu_seconds.append(cpu - self.last_cpu)
        if profiling == 0:
            tf.profiler.experimental.start(self.logdir)
        if profiling == self.profiled:
            tf.profiler.experimental.stop()
        if 0 <= profiling < self.profiled:
            self.trace = step_marker(profiling)
            self.trace.__enter__()
        self.calls, self.last, self.last_cpu = self.calls + 1, time.perf_counter(), time.process_time()

    @property
    def steps_needed(self):
        return self.warmup + self.timed + self.profiled + 1  # the last one only ends the profile


def step_marker(step):
    """The trace event that delimits step `step` (a context manager)."""
    return tf.profiler.experimental.Trace(MARKER, step_num=step, _r=1)


# --- parse ----------------------------------------------------------------------------------------------
def load_xspace(logdir):
    """The newest XPlane file under `logdir` (the profiler writes plugins/profile/<run>/<host>.xplane.pb)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    files = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True), key=os.path.getmtime)
    if not files:
        raise FileNotFoundError(f"no *.xplane.pb under {logdir}: was the profiler started and stopped?")
    space = xplane_pb2.XSpace()
    with open(files[-1], "rb") as handle:
        space.ParseFromString(handle.read())
    return space


def stat_value(plane, stat):
    for field in ("int64_value", "uint64_value", "double_value", "str_value"):
        if stat.HasField(field):
            return getattr(stat, field)
    if stat.HasField("ref_value"):
        return plane.stat_metadata[stat.ref_value].name
    return None


def line_events(plane, line):
    """(start ps, end ps, name, event) of a line's events, in absolute picoseconds, outermost first."""
    base = line.timestamp_ns * 1000
    events = [(base + event.offset_ps, base + event.offset_ps + event.duration_ps,
               plane.event_metadata[event.metadata_id].name, event) for event in line.events]
    return sorted(events, key=lambda item: (item[0], -item[1]))


def classify(name, ancestors, tfdata_line):
    """("compute", op type) | ("input", None) | None for an event with these ancestor names on its thread."""
    match = TF_OP.match(name)
    if is_input(name) or any(is_input(ancestor) for ancestor in ancestors):  # with the ops getting the batch
        return ("input", None)
    if tfdata_line:  # tf.data's own work on its threads: not the step's compute
        return None
    if match:
        return None if match.group(2) in CALL_OPS else ("compute", (op_type(match.group(2)), scope(match.group(1))))
    if XLA_EXECUTE in ancestors and "::" not in name and not name.startswith("ThreadpoolListener"):
        return ("compute", (xla_kind(name), "XLA-compiled step"))
    return None


def is_input(name):
    match = TF_OP.match(name)
    return name in INPUT_EVENTS or bool(match and match.group(2) in ITERATOR_OPS)


def scope(op_name):
    """An op's layer: its name's scopes down to the layer, each without its last `_N` (Keras's call counter) and
    without function-call wrappers
    (gradient_tape/discriminator_3/down1_1/convolution/Conv2DBackpropInput → gradient_tape/discriminator/down1)."""
    parts = [re.sub(r"_\d+$", "", part) for part in op_name.split("/")[:-1]]
    while parts[:1] in (["StatefulPartitionedCall"], ["PartitionedCall"]):  # fit's step function wraps the step
        parts = parts[1:]
    depth = 3 if parts[:1] == ["gradient_tape"] else 2
    return "/".join(parts[:depth]) or "(top level)"


def innermost_segments(classified):
    """Non-overlapping (start, end, kind, label) from properly nested classified intervals (outermost first):
    at every moment, the innermost one's label. A child running past its parent (clock rounding) is clipped."""
    segments, stack, cursor = [], [], None

    def emit(start, end, kind, label):
        if end > start:
            segments.append((start, end, kind, label))

    for start, end, kind, label in classified:
        while stack and stack[-1][0] <= start:
            top = stack.pop()
            emit(cursor, top[0], top[1], top[2])
            cursor = top[0]
        if stack:
            emit(cursor, start, stack[-1][1], stack[-1][2])
            end = min(end, stack[-1][0])
        cursor = start
        stack.append((end, kind, label))
    while stack:
        top = stack.pop()
        emit(cursor, top[0], top[1], top[2])
        cursor = top[0]
    return segments


def timelines(space):
    """From the host CPU plane: the step markers {step: (start, end)}, every thread's compute/input segments,
    the tf.function call windows, and tf.data background intervals (all in ps)."""
    markers, segments, calls, tfdata, thunks = {}, [], [], [], []
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            tfdata_line = line.name.startswith("tf_data")  # tf.data's threads (prefetching, map functions, get_next)
            background = tfdata_line and not line.name.startswith("tf_data_iterator_get_next")
            stack, classified = [], []
            for start, end, name, event in line_events(plane, line):
                while stack and stack[-1][0] <= start:
                    stack.pop()
                ancestors = [item[1] for item in stack]
                if name == MARKER:
                    numbers = [stat_value(plane, stat) for stat in event.stats
                               if plane.stat_metadata[stat.metadata_id].name == "step_num"]
                    if numbers:
                        markers[int(numbers[0])] = (start, end)
                elif name.startswith(FUNCTION_CALL) and not any(a.startswith(FUNCTION_CALL) for a in ancestors):
                    calls.append((start, end))
                if background and not stack:
                    tfdata.append((start, end))
                kind = classify(name, ancestors, tfdata_line)
                if kind:
                    classified.append((start, end, *kind))
                    if kind[1] and kind[1][0].startswith("xla:"):
                        thunks.append((start, end, name))
                stack.append((end, name))
            segments.extend(innermost_segments(classified))
    return markers, segments + asynchronous_thunks(thunks), calls, tfdata


def asynchronous_thunks(thunks):
    """XLA:CPU runs some thunks (its convolutions) asynchronously: the thunk's event only starts the work, whose
    threads are not traced, and an "end: <thunk>" event marks its completion. Each such pair becomes one compute
    segment from the start to the completion."""
    latest, segments = {}, []
    for start, end, name in sorted(thunks):
        if name.startswith("end: ") and name[5:] in latest:
            segments.append((latest.pop(name[5:]), end, "compute", (xla_kind(name), "XLA-compiled step")))
        elif not name.startswith("end: "):
            latest[name] = start
    return segments


def clipped(start, end, low, high):
    return max(0, min(end, high) - max(start, low))


def step_times(space):
    """[StepTime] for every marked step in the trace, in step order."""
    markers, segments, calls, tfdata = timelines(space)
    return [split_step(step, low, high, segments, calls, tfdata) for step, (low, high) in sorted(markers.items())]


def split_step(step, low, high, segments, calls, tfdata):
    points = []  # (time, order, delta, kind, label): ends (order 0) before starts (order 1) at the same time
    for start, end, kind, label in segments:
        if end > low and start < high:
            points += [(max(start, low), 1, 1, kind, label), (min(end, high), 0, -1, kind, label)]
    for start, end in calls:
        if end > low and start < high:
            points += [(max(start, low), 1, 1, "call", None), (min(end, high), 0, -1, "call", None)]
    points.sort(key=lambda point: point[:2])
    ops, running = collections.Counter(), collections.Counter()
    active = {"compute": 0, "input": 0, "call": 0}
    input_wait = gaps = python = 0
    previous = low
    for time_ps, _, delta, kind, label in points + [(high, 0, 0, None, None)]:
        span = time_ps - previous
        if span > 0:
            if active["compute"]:
                for name, count in running.items():
                    if count:
                        ops[name] += span * count / active["compute"]
            elif active["input"]:
                input_wait += span
            elif active["call"]:
                gaps += span
            else:
                python += span
        previous = time_ps
        if kind:
            active[kind] += delta
            if kind == "compute":
                running[label] += delta
    ms = 1e-9
    thread_ms = sum(clipped(start, end, low, high) for start, end, kind, _ in segments if kind == "compute")
    types, scopes = collections.Counter(), collections.Counter()
    for (kind, where), value in ops.items():
        types[kind] += value * ms
        scopes[where] += value * ms
    return StepTime(step=step, wall=(high - low) * ms, ops=dict(types), scopes=dict(scopes),
                    input_wait=input_wait * ms, runtime_gaps=gaps * ms, python=python * ms,
                    op_thread_ms=thread_ms * ms,
                    tfdata_thread_ms=sum(clipped(start, end, low, high) for start, end in tfdata) * ms)


# --- report ---------------------------------------------------------------------------------------------
def top_ops(steps, count, field="ops"):
    totals = collections.Counter()
    for step in steps:
        totals.update(getattr(step, field))
    return [name for name, _ in totals.most_common(count)]


def mean_step(steps):
    """A StepTime of the steps' means (its ops: every op type's mean)."""
    fields = ("wall", "input_wait", "runtime_gaps", "python", "op_thread_ms", "tfdata_thread_ms")
    means = {field: statistics.mean(getattr(step, field) for step in steps) for field in fields}
    ops = {name: sum(step.ops.get(name, 0) for step in steps) / len(steps) for name in top_ops(steps, None)}
    scopes = {name: sum(step.scopes.get(name, 0) for step in steps) / len(steps)
              for name in top_ops(steps, None, "scopes")}
    return StepTime(step="mean", ops=ops, scopes=scopes, **means)


def step_table(steps, columns=5):
    """Markdown: one row per step and their mean; ms with % of the step's wall time."""
    names = top_ops(steps, columns)

    def cell(value, wall):
        return f"{value:.1f} ({100 * value / wall:.0f}%)" if wall else f"{value:.1f}"

    rows = ["| step | wall ms | compute | " + " | ".join(names) + " | other ops | input wait | host overhead "
            "| of which runtime gaps | of which Python | parallelism | tf.data thread ms |",
            "|---:|---:|---:|" + "---:|" * (len(names) + 7)]
    mean = mean_step(steps)
    for step in [*steps, mean]:
        other = step.compute - sum(step.ops.get(name, 0) for name in names)
        label = "**mean**" if step is mean else step.step
        rows.append(f"| {label} | {step.wall:.1f} | {cell(step.compute, step.wall)} | "
                    + " | ".join(cell(step.ops.get(name, 0), step.wall) for name in names)
                    + f" | {cell(other, step.wall)} | {cell(step.input_wait, step.wall)} "
                    f"| {cell(step.host, step.wall)} "
                    f"| {cell(step.runtime_gaps, step.wall)} | {cell(step.python, step.wall)} "
                    f"| {step.op_thread_ms / step.compute if step.compute else 0:.2f} | {step.tfdata_thread_ms:.1f} |")
    return "\n".join(rows)


def op_table(steps, count=12, field="ops", title="op type"):
    """Markdown: the op types (or scopes) by mean ms per step, with their share of the step and of the compute."""
    wall = statistics.mean(step.wall for step in steps)
    compute = statistics.mean(step.compute for step in steps)
    rows = [f"| {title} | ms/step | % of step | % of compute |", "|---|---:|---:|---:|"]
    for name in top_ops(steps, count, field):
        value = sum(getattr(step, field).get(name, 0) for step in steps) / len(steps)
        rows.append(f"| {name} | {value:.2f} | {100 * value / wall:.1f}% | {100 * value / compute:.1f}% |")
    return "\n".join(rows)


# --- main -----------------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", choices=("graph", "xla"), default="graph", help="the training path, forced")
    parser.add_argument("--mixed-precision", action="store_true", help="mixed_bfloat16, as `gan-zoo train` does")
    parser.add_argument("--model", choices=("ours", "baseline"), default="ours",
                        help="ours: `gan-zoo train dcgan`'s step; baseline: baseline_dcgan.py's plain Keras DCGAN")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="steps timed without, then traced with, the profiler")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (tracing, compiling)")
    parser.add_argument("--logdir", help="where the trace goes (default: a new temporary directory)")
    parser.add_argument("--no-peaks", action="store_true", help="skip measuring the matmul peaks")
    args = parser.parse_args()

    tf.get_logger().setLevel("ERROR")  # the graph FLOP counter's deprecation warning
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from baseline_dcgan import Baseline, Ours
    from machine import machine_header, matmul_peaks

    logdir = args.logdir or tempfile.mkdtemp(prefix="profile_step_")
    header = machine_header()
    peaks = {} if args.no_peaks else matmul_peaks()
    keras.utils.set_random_seed(0)
    policy, xla = "mixed_bfloat16" if args.mixed_precision else "float32", args.path == "xla"
    if args.model == "ours":
        ours = Ours(args.batch_size, mixed_precision=args.mixed_precision, jit_compile=xla)
    else:
        ours = Baseline(args.batch_size, policy, xla)
    profile = ProfileSteps(logdir, args.warmup, args.steps, args.steps)
    ours.run(profile.steps_needed, profile)
    steps = step_times(load_xspace(logdir))
    flops = ours.flops()

    print(header)
    if peaks:
        print("Matmul peak (2048², best of 10): " + ", ".join(f"{name} {value:.1f}" for name, value in peaks.items())
              + " GFLOP/s")
    precision = "mixed_bfloat16" if args.mixed_precision else "float32"
    unprofiled = statistics.median(profile.seconds) * 1e3
    wall = statistics.mean(step.wall for step in steps)
    compute = statistics.mean(step.compute for step in steps)
    what = "`gan-zoo train dcgan`" if args.model == "ours" else "the plain Keras DCGAN of baseline_dcgan.py"
    print(f"Step: {what}; path: {args.path}+{precision} (forced by --path; `gan-zoo train dcgan` measures graph vs "
          f"XLA and picks the faster), batch {args.batch_size}, {args.warmup} warm-up steps")
    cpu, profiled_cpu = (statistics.median(values) * 1e3 for values in (profile.cpu_seconds,
                                                                         profile.profiled_cpu_seconds))
    print(f"Without the profiler: median {unprofiled:.1f} ms/step over {len(profile.seconds)} steps, this process's "
          f"CPU time {cpu:.1f} ms/step ({cpu / unprofiled:.2f} cores busy); under it: mean {wall:.1f} ms/step over "
          f"{len(steps)} steps, CPU time {profiled_cpu:.1f} ms/step (trace: {logdir})")
    print(f"Model FLOPs per step (graph profiler: MatMul, Conv2D and their gradients): {flops / 1e9:.2f} GFLOP; "
          f"{flops / 1e6 / unprofiled:.1f} GFLOP/s over the unprofiled step, {flops / 1e6 / compute:.1f} GFLOP/s "
          f"over the profiled step's compute time"
          + (f" (peak {peaks['bfloat16' if args.mixed_precision else 'float32']:.1f})" if peaks else "") + "\n")
    print(step_table(steps))
    print(f"\nCompute by op type (mean over the {len(steps)} traced steps)\n")
    print(op_table(steps))
    print("\nCompute by layer (the ops' name scopes; gradient_tape/… is the backward pass)\n")
    print(op_table(steps, field="scopes", title="scope"))


if __name__ == "__main__":
    main()
