"""`gan-zoo`: zoo's commands plus `export`, `serve` and `demo` (this package imports zoo, never the reverse)."""
import os
import sys

from zoo import cli as zoo_cli
from zoo.cli import declared
from zoo.errors import UserError

FORMATS = ("saved_model", "hub", "tflite", "onnx")


def add_export_parser(subparsers):
    parser = subparsers.add_parser(
        "export", help="export a generator: SavedModel (TF Serving layout), TF-Hub, TFLite or ONNX",
        description="saved_model: OUT/<name>/<version>/ (TF Serving); hub: a Reusable SavedModel in OUT; "
                    "tflite, onnx: the file OUT")
    parser.add_argument("model", help="preset name or directory, `gan-zoo train` run directory, or .keras file")
    parser.add_argument("--format", choices=FORMATS, default="saved_model")
    parser.add_argument("--out", required=True)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out file (tflite, onnx), --out directory (hub) or --version")
    parser.add_argument("--name", help="model name in the TF Serving layout (default: the preset's or run's name)")
    parser.add_argument("--version", type=int, help="version directory (default: the next free integer)")
    parser.add_argument("--quantization", choices=("none", "float16", "dynamic"), default="none",
                        help="TFLite weights: float32, float16, or int8 dynamic-range")
    parser.set_defaults(handler=run_export)


def run_export(args):
    from hub_export import convert, saved_model
    from zoo import files
    from zoo.presets.pretrained import load_generator

    if args.quantization != "none" and args.format != "tflite":
        raise UserError(f"--quantization applies to --format tflite; received --format {args.format}")
    if args.format == "saved_model":
        if args.name is not None:
            files.check_plain_name(args.name, "--name")
        if args.version is not None and args.version < 1:
            raise UserError(f"--version must be a positive integer (TF Serving's version directories); received "
                            f"{args.version}")
        files.check_output(args.out, kind="base")  # a base directory of models: exports are added to it
        if args.name and args.version is not None:  # else export_serving checks it once the model names it
            files.check_output(os.path.join(args.out, args.name, str(args.version)), args.overwrite, "dir",
                               "--version")
    else:
        output = files.check_output(args.out, args.overwrite, "dir" if args.format == "hub" else "file")
    generator, _ = load_generator(args.model)
    if args.format == "saved_model":
        path = saved_model.export_serving(generator, args.out, args.name, args.version, args.overwrite,
                                          version_checked=bool(args.name))
    elif args.format == "hub":
        with files.atomic_output(output) as directory:
            saved_model.write_saved_model(generator, directory)
        path = args.out
    else:
        path = convert.convert(generator, output, args.format, args.quantization)
    print(f"exported: {path}")
    return 0


def add_serve_parser(subparsers):
    server = declared.constants("hub_export.server")
    parser = subparsers.add_parser("serve", help="serve exported SavedModels with TF Serving's REST API")
    parser.add_argument("models", help="directory of <name>/<version>/ exports (or one <name>/ directory)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--max-batch", type=int, default=server["DEFAULT_MAX_BATCH"],
                        help="rows per model call (concurrent requests are merged up to it) and per request")
    parser.add_argument("--max-request-bytes", type=int, default=server["DEFAULT_MAX_REQUEST_BYTES"])
    parser.add_argument("--max-pixels", type=int, default=server["DEFAULT_MAX_PIXELS"],
                        help="output pixels per request and per model call (SRGAN ×4: 16 per input pixel); "
                             "bounds the server's memory")
    parser.add_argument("--timeout", type=float, default=server["DEFAULT_TIMEOUT_SECONDS"],
                        help="seconds a client has to send a whole request; idle connections close after it too")
    parser.set_defaults(handler=run_serve)


def run_serve(args):
    from hub_export.server import serve

    try:
        return serve(args.models, args.host, args.port, args.max_batch, args.max_request_bytes, args.timeout,
                     args.max_pixels)
    except FileNotFoundError as error:
        raise UserError(str(error)) from error


def add_demo_parser(subparsers):
    parser = subparsers.add_parser("demo", help="a local web page to try presets: seeds, classes, truncation, style "
                                                "mixing, interpolation, your own images (no network needed)")
    parser.add_argument("names", nargs="*", help="presets to show (default: every shipped preset)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=declared.constants("hub_export.demo")["DEFAULT_PORT"])
    parser.set_defaults(handler=run_demo)


def run_demo(args):
    import zoo
    from hub_export.demo import serve_demo
    from zoo.presets import store

    shipped = zoo.list_models()
    for name in args.names:
        if name not in shipped:
            raise UserError(store.unknown_model_message(name))
    return serve_demo(args.names or shipped, args.host, args.port)


PARSERS = (add_export_parser, add_serve_parser, add_demo_parser)


def build_parser():
    """The whole `gan-zoo` parser: zoo's verbs, then export, serve and demo."""
    return zoo_cli.build_parser(PARSERS)


def main(argv=None):
    return zoo_cli.main(argv, extra_parsers=PARSERS)


if __name__ == "__main__":
    sys.exit(main())
