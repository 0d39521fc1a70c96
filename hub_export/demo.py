"""The demo page (`gan-zoo demo [NAMES...] --port 7860`): presets in a browser, served from this machine by
aiohttp (no CDN, nothing fetched from the network; the page is demo_page.html beside this module).

    GET  /                                                       the page
    GET  /api/models                                             [{name, task, takes, capabilities, headline, ...}]
    GET  /cards/<name>                                           the model card (Markdown, plain text)
    GET  /api/<name>/sample?seed=&count=&label=&truncation=      PNG: seeds seed … seed+count-1 in a row
    GET  /api/<name>/interpolate?a=&b=&steps=&label=&truncation= PNG: the strip from seed a's image to b's
    GET  /api/<name>/mix?rows=&columns=&crossover=&truncation=   PNG: a style-mixing grid (StyleGAN-lite)
    GET  /api/<name>/example?index=                              PNG: a test image to translate or upscale
    POST /api/<name>/transform?direction=     body: PNG/JPEG     {"input": b64 PNG, "output": b64 PNG}
    GET  /api/<name>/memorization                                PNG: the card's nearest-neighbour grid
    POST /api/<name>/project?steps=           body: PNG/JPEG     {"input", "output" (b64 PNG), "psnr_db", "label"}

Seeds mean what `g.sample_seeds` and the REST server's `seed` mean. Errors are JSON {"error": "..."}: 400
for bad input, 404 for an unknown model, 413 for an upload over `max_upload_bytes`. Models are loaded
and warmed up at start, and run one request at a time in a worker thread: the event loop only routes.
"""
import asyncio
import base64
import io
import os
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from recipes.capabilities import MIX_STYLES, SAMPLE
from recipes.latents import MAX_SEED
from zoo.checks import MAX_TRUNCATION, whole_number
from zoo.errors import UserError
from zoo.images import encode_png, make_grid

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo_page.html")
DEFAULT_PORT = 7860
MAX_UPLOAD_BYTES = 4 * 2**20
MAX_SEEDS, MAX_STEPS, MAX_MIX = 16, 16, 6  # images per grid, frames per strip, rows/columns of a mix
DEFAULT_PROJECTION_STEPS, MAX_PROJECTION_STEPS = 200, 1000  # a projection is a search: seconds, not a call


class DemoModel:
    """One preset as the page uses it: its Generator, its task (zoo.tasks: what the page offers, the example
    and upload handlers), and its card's headline."""

    def __init__(self, name):
        import zoo
        from zoo.presets.packaging import card_markdown, headline
        from zoo.tasks import task_for

        self.generator = zoo.load(name)
        self.task = task_for(self.generator)
        card = self.generator.card
        self.name, self.card_text = name, card_markdown(card)
        self.description = {
            "name": name, "recipe": card["recipe"], "task": self.task.name, "takes": self.task.takes,
            "title": self.task.demo_title, "headline": headline(card), "card": f"/cards/{name}",
            "capabilities": sorted(self.generator.capabilities), "image_shape": list(self.generator.image_shape),
            "classes": None, "num_layers": None, "directions": None, "memorization": None,
            **self.task.demo_details(self.generator)}

    # --- sampling models ------------------------------------------------------------------------------
    def sample(self, seed, count, label, truncation):
        seeds = [seed + offset for offset in range(count)]
        images = self.generator.sample_seeds(seeds, labels=label, truncation=truncation)
        return encode_png(make_grid(images, columns=count))

    def interpolate(self, a, b, steps, label, truncation):
        frames = self.generator.interpolate(a, b, steps, label, truncation)
        return encode_png(make_grid(frames, columns=steps))

    def mix(self, rows, columns, crossover, truncation):
        self.generator.require(SAMPLE, "style mixing")
        if MIX_STYLES not in self.generator.capabilities:
            raise UserError(f"{self.name} has no style layers to mix (StyleGAN-lite does)")
        return encode_png(self.generator.mix_styles(rows, columns, crossover, truncation))

    def memorization_grid(self):
        """The card's nearest-neighbour grid (PNG bytes, checked against the card's sha256)."""
        from zoo.presets import packaging, store

        if not self.generator.card.get("memorization"):
            raise UserError(f"{self.name}'s card has no memorization check")
        path = store.verified_file(store.preset_path(self.name), packaging.MEMORIZATION_GRID, self.generator.card)
        with open(path, "rb") as handle:
            return handle.read()

    def project(self, upload, steps):
        """(target PNG, projection PNG, PSNR dB, class or None) of an uploaded picture (zoo.projection)."""
        from zoo.images import read_image

        self.generator.require(SAMPLE, "projection")
        image = read_image(io.BytesIO(upload), self.generator.image_shape[-1], self.generator.data.frame, "the upload")
        found = self.generator.project(image[None], steps=steps)
        label = None if found.labels is None else int(found.labels[0])
        return encode_png(image), encode_png(found.images[0]), float(found.psnr[0]), label

    # --- image-to-image models (the task's handlers) --------------------------------------------------
    def example(self, index):
        """PNG of a test image of the model's input (the task's example)."""
        return encode_png(self.task.example(self.generator, index))

    def transform(self, upload, direction):
        """(input PNG, output PNG) of an uploaded picture, fitted to the model's input by its task first."""
        source, output = self.task.transform(self.generator, upload, direction)
        return encode_png(source), encode_png(output)

    def warm_up(self):
        """Call what the page calls once, so that no user waits for a first trace."""
        self.task.warm_up(self)


# --- request parameters ----------------------------------------------------------------------------------
def integer(query, name, default, low, high):
    text = query.get(name)
    if text is None or text == "":
        if default is None:
            raise UserError(f"{name} is required: an integer in [{low}, {high}]")
        return default
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{name} must be an integer in [{low}, {high}]; received {text!r}") from None
    if not low <= value <= high:
        raise UserError(f"{name} must be an integer in [{low}, {high}]; received {value}")
    return value


def number(query, name, default, low, high):
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{name} must be a number in [{low}, {high}]; received {text!r}") from None
    if not low <= value <= high:  # also refuses NaN
        raise UserError(f"{name} must be a number in [{low}, {high}]; received {text}")
    return value


def integer_list(query, name, most):
    text = query.get(name, "")
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"{name} must be comma-separated seeds, e.g. 1,2,3; received {text!r}") from None
    if not 1 <= len(values) <= most:
        raise UserError(f"{name} takes 1 to {most} seeds; received {len(values)}")
    return values


SEED_MAX = MAX_SEED  # what g.sample_seeds takes (recipes.latents)
MODELS = web.AppKey("models", dict)


def make_app(names, max_upload_bytes=MAX_UPLOAD_BYTES):
    """The aiohttp application of the demo over the presets `names` (loaded and warmed up here); its
    DemoModels are app[MODELS]."""
    models = {name: DemoModel(name) for name in names}
    for model in models.values():
        model.warm_up()
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-model")

    @web.middleware
    async def json_errors(request, handler):
        try:
            return await handler(request)
        except UserError as error:
            return web.json_response({"error": str(error)}, status=400)
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": f"upload larger than {max_upload_bytes} bytes"}, status=413)
        except web.HTTPException as error:
            return web.json_response({"error": error.reason}, status=error.status)
        except Exception as error:  # noqa: BLE001  the page keeps working; the user learns why
            return web.json_response({"error": f"internal error: {type(error).__name__}: {error}"}, status=500)

    def model_of(request):
        name = request.match_info["name"]
        if name not in models:
            raise web.HTTPNotFound(reason=f"no model {name!r} in this demo; models: {', '.join(models)}")
        return models[name]

    async def run(function, *args):
        return await asyncio.get_running_loop().run_in_executor(worker, function, *args)

    def png(body):
        return web.Response(body=body, content_type="image/png", headers={"Cache-Control": "no-store"})

    def label_and_truncation(query):
        label = query.get("label")
        return (None if label in (None, "") else integer(query, "label", None, 0, 10**6),
                number(query, "truncation", 1.0, 0.0, MAX_TRUNCATION))

    async def page(request):
        return web.FileResponse(PAGE)

    async def listing(request):
        return web.json_response([model.description for model in models.values()])

    async def card(request):
        return web.Response(text=model_of(request).card_text, content_type="text/plain", charset="utf-8")

    async def sample(request):
        query = request.query
        seed, count = integer(query, "seed", 0, 0, SEED_MAX - MAX_SEEDS), integer(query, "count", 8, 1, MAX_SEEDS)
        return png(await run(model_of(request).sample, seed, count, *label_and_truncation(query)))

    async def interpolate(request):
        query = request.query
        a, b = integer(query, "a", None, 0, SEED_MAX), integer(query, "b", None, 0, SEED_MAX)
        steps = integer(query, "steps", 8, 2, MAX_STEPS)
        return png(await run(model_of(request).interpolate, a, b, steps, *label_and_truncation(query)))

    async def mix(request):
        query = request.query
        rows, columns = integer_list(query, "rows", MAX_MIX), integer_list(query, "columns", MAX_MIX)
        crossover = integer(query, "crossover", None, 0, 64)
        truncation = number(query, "truncation", 1.0, 0.0, MAX_TRUNCATION)
        return png(await run(model_of(request).mix, rows, columns, crossover, truncation))

    async def example(request):
        return png(await run(model_of(request).example, integer(request.query, "index", 0, 0, 10**6)))

    async def transform(request):
        model = model_of(request)
        direction = request.query.get("direction", "a2b")
        upload = await request.read()
        if not upload:
            raise UserError("send a PNG or JPEG picture as the request body")
        source, output = await run(model.transform, upload, direction)
        return web.json_response({"input": base64.b64encode(source).decode("ascii"),
                                  "output": base64.b64encode(output).decode("ascii")})

    async def memorization(request):
        return png(await run(model_of(request).memorization_grid))

    async def project(request):
        model = model_of(request)
        steps = integer(request.query, "steps", DEFAULT_PROJECTION_STEPS, 1, MAX_PROJECTION_STEPS)
        upload = await request.read()
        if not upload:
            raise UserError("send a PNG or JPEG picture as the request body")
        source, output, psnr, label = await run(model.project, upload, steps)
        return web.json_response({"input": base64.b64encode(source).decode("ascii"),
                                  "output": base64.b64encode(output).decode("ascii"), "psnr_db": round(psnr, 2),
                                  "label": label})

    async def stop_worker(app):
        worker.shutdown(wait=True)

    app = web.Application(client_max_size=max_upload_bytes, middlewares=[json_errors])
    app.router.add_get("/", page)
    app.router.add_get("/api/models", listing)
    app.router.add_get("/cards/{name}", card)
    app.router.add_get("/api/{name}/sample", sample)
    app.router.add_get("/api/{name}/interpolate", interpolate)
    app.router.add_get("/api/{name}/mix", mix)
    app.router.add_get("/api/{name}/example", example)
    app.router.add_post("/api/{name}/transform", transform)
    app.router.add_get("/api/{name}/memorization", memorization)
    app.router.add_post("/api/{name}/project", project)
    app.on_cleanup.append(stop_worker)
    app[MODELS] = models
    return app


def serve_demo(names, host="127.0.0.1", port=DEFAULT_PORT, print_fn=print):
    """Run the demo until SIGINT/SIGTERM."""
    import socket

    whole_number("--port", port, 1, 65535)  # socket raises OverflowError beyond it
    with socket.socket() as probe:  # before loading the models: a taken port is known in a second, not in 30
        try:
            probe.bind((host, port))
        except OSError as error:
            raise UserError(f"cannot listen on {host}:{port} ({error.strerror}); pass another --port") from None
    app = make_app(names)
    print_fn(f"GAN Zoo demo of {', '.join(names)} on http://{host}:{port}/ (Ctrl-C stops it)")
    try:
        web.run_app(app, host=host, port=port, print=None, shutdown_timeout=10)
    except OSError as error:  # taken between the probe and now
        raise UserError(f"cannot listen on {host}:{port} ({error.strerror}); pass another --port") from None
    return 0
