"""`gan-zoo demo`: its API through aiohttp's own test client (PNG images that follow the seed, class and
direction; bad input answered in one line), and the page in a real headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium) against a real `gan-zoo demo` process; screenshots are kept in
$GAN_ZOO_TEST_ARTIFACTS (default: test-artifacts/) as artifacts of the run."""
import asyncio
import base64
import io
import os
import shutil
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from hub_export.demo import MODELS, make_app
from hub_export.server import start_answering_process
from pictures import png_bytes
from zoo.images import encode_png
from zoo.train.launch import free_port

ARTIFACTS = os.environ.get("GAN_ZOO_TEST_ARTIFACTS",
                           os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "test-artifacts"))


def png(body):
    """The decoded image of PNG bytes (fails on anything that is not a complete PNG)."""
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(body))
    image.load()
    return np.asarray(image)


def encoded(picture, format="PNG"):
    buffer = io.BytesIO()
    picture.save(buffer, format=format)
    return buffer.getvalue()


CGAN, CYCLEGAN, SRGAN = (f"/api/{name}" for name in ("cgan_fashion_mnist_28", "cyclegan_sneaker_boot_28",
                                                     "srgan_fashion_mnist_x4"))
BAD_QUERIES = [  # GET: (url, status, part of the one-line error)
    (f"{CGAN}/sample?seed=-1", 400, "seed must be an integer in [0, "),
    (f"{CGAN}/sample?seed=1.5", 400, "seed must be an integer in [0, "),
    (f"{CGAN}/sample?seed={2**63}", 400, "seed must be an integer in [0, "),
    (f"{CGAN}/sample?count=0", 400, "count must be an integer in [1, 16]; received 0"),
    (f"{CGAN}/sample?count=1e3", 400, "count must be an integer in [1, 16]; received '1e3'"),
    (f"{CGAN}/sample?label=-1", 400, "label must be an integer in [0, 1000000]; received -1"),
    (f"{CGAN}/sample?label=x", 400, "label must be an integer"),
    (f"{CGAN}/sample?truncation=inf", 400, "truncation must be a number in [0.0, 2.0]; received inf"),
    (f"{CGAN}/sample?truncation=-0.5", 400, "truncation must be a number in [0.0, 2.0]; received -0.5"),
    (f"{CGAN}/sample?truncation=abc", 400, "truncation must be a number in [0.0, 2.0]; received 'abc'"),
    (f"{CGAN}/interpolate?b=2", 400, "a is required: an integer in [0, "),
    (f"{CGAN}/interpolate?a=1&b=x", 400, "b must be an integer in [0, "),
    (f"{CGAN}/interpolate?a=1&b=2&steps=1", 400, "steps must be an integer in [2, 16]; received 1"),
    (f"{CGAN}/interpolate?a=1&b=2&steps=99", 400, "steps must be an integer in [2, 16]; received 99"),
    (f"{CGAN}/interpolate?a=1&b=2&label=10", 400, "labels must be class ids: integers in [0, 10)"),
    (f"{CGAN}/mix?rows=&columns=1&crossover=1", 400, "rows takes 1 to 6 seeds; received 0"),
    (f"{CGAN}/mix?rows=1,2,3,4,5,6,7&columns=1&crossover=1", 400, "rows takes 1 to 6 seeds; received 7"),
    (f"{CGAN}/mix?rows=a&columns=1&crossover=1", 400, "rows must be comma-separated seeds"),
    (f"{CGAN}/mix?rows=1&columns=1", 400, "crossover is required"),
    (f"{SRGAN}/sample?seed=1", 400, "sample_seeds needs a sampling model; srgan_fashion_mnist_x4 does super-resolution"),
    (f"{SRGAN}/interpolate?a=1&b=2", 400, "interpolate needs a sampling model"),
    (f"{SRGAN}/example?index=-1", 400, "index must be an integer in [0, 1000000]; received -1"),
    (f"{SRGAN}/example?index=x", 400, "index must be an integer"),
    (f"{SRGAN}/memorization", 400, "card has no memorization check"),
    ("/cards/nope", 404, "no model 'nope' in this demo"),
    ("/api/nope/mix?rows=1&columns=2&crossover=1", 404, "no model 'nope' in this demo"),
]
BAD_UPLOADS = [  # POST: (url, body, part of the 400's one-line error)
    (f"{SRGAN}/transform?direction=zzz", encoded(Image.new("L", (7, 7))),
     "direction must be a2b for srgan_fashion_mnist_x4; received 'zzz'"),
    (f"{SRGAN}/transform?direction=b2a", encoded(Image.new("L", (7, 7))), "direction must be a2b for srgan"),
    (f"{CYCLEGAN}/transform?direction=zzz", encoded(Image.new("L", (28, 28))),
     "direction must be a2b or b2a for cyclegan_sneaker_boot_28; received 'zzz'"),
    (f"{CYCLEGAN}/transform?direction=A2B", encoded(Image.new("L", (28, 28))), "direction must be a2b or b2a"),
    (f"{CYCLEGAN}/transform", png_bytes(20000, 20000, colour_type=0),
     "the upload is too large to open (Image size (400000000 pixels) exceeds limit of 178956970 pixels)"),
    (f"{SRGAN}/transform", png_bytes(12000, 12000), "the upload is too large to open (Image size (144000000 pixels)"),
    (f"{CGAN}/project", png_bytes(5000, 4000, colour_type=0),
     "the upload is too large to open (5000×4000 = 20000000 pixels); at most 16777216 pixels (4096×4096) are read"),
    (f"{CGAN}/project", encoded(Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), np.uint8)))[:400],
     "the upload is not an image PIL can read"),  # its pixel data cut in half
    (f"{CGAN}/project?steps=0", encoded(Image.new("L", (28, 28))), "steps must be an integer in [1, 1000]; received 0"),
    (f"{CGAN}/project?steps=x", encoded(Image.new("L", (28, 28))), "steps must be an integer in [1, 1000]"),
    (f"{CGAN}/project", b"", "send a PNG or JPEG picture as the request body"),
    (f"{CGAN}/transform", encoded(Image.new("L", (28, 28))), "cgan_fashion_mnist_28 makes images from seeds; upload"),
    (f"{CYCLEGAN}/project", encoded(Image.new("L", (28, 28))), "projection needs a sampling model"),
    (f"{SRGAN}/project", encoded(Image.new("L", (28, 28))), "projection needs a sampling model"),
    (f"{SRGAN}/transform", b"GIF89a", "the upload is not an image PIL can read"),
]


def test_api_serves_pngs_that_follow_the_inputs_and_refuses_bad_ones():
    from aiohttp.test_utils import TestClient, TestServer

    async def scenario():
        app = make_app(["cgan_fashion_mnist_28", "cyclegan_sneaker_boot_28", "srgan_fashion_mnist_x4"])
        async with TestClient(TestServer(app)) as client:
            async def get(url, status=200):
                response = await client.get(url)
                assert response.status == status, await response.text()
                return await (response.read() if response.content_type == "image/png" else response.json())

            listing = {model["name"]: model for model in await get("/api/models")}
            assert listing["cgan_fashion_mnist_28"]["classes"][7] == "sneaker"
            assert listing["cyclegan_sneaker_boot_28"]["directions"] == {"a2b": "sneaker → ankle boot",
                                                                         "b2a": "ankle boot → sneaker"}
            assert "FID" in listing["cgan_fashion_mnist_28"]["headline"]
            grid = png(await get("/api/cgan_fashion_mnist_28/sample?seed=5&count=4&label=3"))
            assert grid.shape == (32, 2 + 4 * 30)
            g = app[MODELS]["cgan_fashion_mnist_28"].generator
            np.testing.assert_array_equal(grid[2:30, 2:30], g.sample_seeds([5], labels=3)[0, ..., 0])  # seeds as served
            assert not np.array_equal(grid, png(await get("/api/cgan_fashion_mnist_28/sample?seed=6&count=4&label=3")))
            assert not np.array_equal(grid, png(await get("/api/cgan_fashion_mnist_28/sample?seed=5&count=4&label=4")))
            assert png(await get("/api/cgan_fashion_mnist_28/interpolate?a=1&b=2&steps=5&label=2")).shape == (32, 152)
            grid_of_neighbours = png(await get("/api/cgan_fashion_mnist_28/memorization"))
            assert grid_of_neighbours.shape[1] == 2 + 7 * 30  # a sample | 3 by features | 3 by pixels
            assert listing["cgan_fashion_mnist_28"]["memorization"]["generator"] == round(
                g.card["memorization"]["results"]["generator"]["c_t"], 2)
            response = await client.post("/api/cgan_fashion_mnist_28/project?steps=3",
                                         data=encode_png(g.sample_seeds([2], labels=8)[0]))
            found = await response.json()
            assert png(base64.b64decode(found["output"])).shape == (28, 28) and found["psnr_db"] > 5
            assert 0 <= found["label"] < 10
            card = await client.get("/cards/cgan_fashion_mnist_28")
            assert (await card.text()).startswith("# cgan_fashion_mnist_28")
            assert "<select id=\"model\">" in await (await client.get("/")).text()

            example = await get("/api/cyclegan_sneaker_boot_28/example?index=3")
            outputs = {}
            for direction in ("a2b", "b2a"):
                response = await client.post(f"/api/cyclegan_sneaker_boot_28/transform?direction={direction}",
                                             data=example)
                pair = await response.json()
                outputs[direction] = png(base64.b64decode(pair["output"]))
                np.testing.assert_array_equal(png(base64.b64decode(pair["input"])), png(example))
            assert outputs["a2b"].shape == (28, 28) and not np.array_equal(outputs["a2b"], outputs["b2a"])

            for url, status, message in [*BAD_QUERIES,
                ("/api/cgan_fashion_mnist_28/sample?seed=x", 400, "seed must be an integer"),
                ("/api/cgan_fashion_mnist_28/sample?count=99", 400, r"count must be an integer in [1, 16]"),
                ("/api/cgan_fashion_mnist_28/sample?label=10", 400, "integers in [0, 10)"),
                ("/api/cgan_fashion_mnist_28/sample?truncation=nan", 400, "truncation must be a number"),
                ("/api/cgan_fashion_mnist_28/sample?truncation=0.5", 400, "truncation needs a recipe with a truncation trick"),
                ("/api/cgan_fashion_mnist_28/mix?rows=1&columns=2&crossover=1", 400, "no style layers to mix"),
                ("/api/cgan_fashion_mnist_28/example", 400, "takes no example input"),
                ("/api/nope/sample", 404, "no model 'nope' in this demo"),
                ("/api/cyclegan_sneaker_boot_28/memorization", 400, "card has no memorization check"),
            ]:
                assert message in (await get(url, status))["error"]
            for body, status, message in [(b"not a picture", 400, "the upload is not an image PIL can read"),
                                          (b"", 400, "send a PNG or JPEG picture"),
                                          (b"x" * (5 * 2**20), 413, "upload larger than")]:
                response = await client.post("/api/cyclegan_sneaker_boot_28/transform", data=body)
                assert response.status == status and message in (await response.json())["error"]
            for url, body, message in BAD_UPLOADS:
                response = await client.post(url, data=body)
                error = (await response.json()).get("error", "")
                assert response.status == 400 and message in error and "\n" not in error, (url, error)

            deep = np.linspace(0, 65535, 28 * 28).reshape(28, 28).astype(np.uint16)  # 16 bits: scaled, not clipped
            for url in ("/api/cyclegan_sneaker_boot_28/transform", "/api/cgan_fashion_mnist_28/project?steps=1"):
                response = await client.post(url, data=encoded(Image.fromarray(deep)))
                shown = png(base64.b64decode((await response.json())["input"]))
                np.testing.assert_array_equal(shown, np.rint(deep / 257.0).astype(np.uint8))

    asyncio.run(scenario())


# --- the page in a real browser ----------------------------------------------------------------------------
def chromium_paths():
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; "
                    ".ci/run installs them)")
    return browser, driver


@pytest.fixture(scope="module")
def page():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = chromium_paths()
    port = free_port()
    demo = start_answering_process(["demo", "cgan_fashion_mnist_28", "stylegan_lite_fashion_mnist_32",
                                    "srgan_fashion_mnist_x4", "--port", str(port)], f"http://127.0.0.1:{port}/api/models")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_script_timeout(60)
    try:
        yield driver, f"http://127.0.0.1:{port}"
    finally:
        driver.quit()
        demo.terminate()
        demo.wait(30)


def loaded_image(driver, element_id, previous=None, containing="", timeout=60):
    """The PNG an <img> shows once it has loaded something other than `previous` whose source (the API URL,
    or the data: URL) contains `containing`: (source, decoded pixels)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state, source, src, width = driver.execute_script(
            "const i = document.getElementById(arguments[0]);"
            "return [i.dataset.state, i.dataset.source || null, i.getAttribute('src'), i.naturalWidth];", element_id)
        key = source or src
        if state == "loaded" and width > 0 and key != previous and containing in key:
            if src.startswith("data:image/png;base64,"):
                return key, png(base64.b64decode(src.split(",", 1)[1]))
            with urllib.request.urlopen(driver.current_url.split("/?")[0] + source) as response:
                return key, png(response.read())
        time.sleep(0.1)
    raise AssertionError(f"#{element_id} did not load a new image (state {state}, error: "
                         f"{driver.find_element('id', 'error').text!r})")


def set_value(driver, element_id, value):
    driver.execute_script("const e = document.getElementById(arguments[0]); e.value = arguments[1];"
                          "e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change'));",
                          element_id, str(value))


def screenshot(driver, name):
    os.makedirs(os.path.join(ARTIFACTS, "demo"), exist_ok=True)
    assert driver.save_screenshot(os.path.join(ARTIFACTS, "demo", f"{name}.png"))


def test_the_page_follows_seed_class_truncation_and_uploads_in_a_real_browser(page, tmp_path):
    driver, url = page
    driver.get(url + "/?model=cgan_fashion_mnist_28")
    source, grid = loaded_image(driver, "grid")
    assert "label=0" in source and grid.shape[1] == 2 + 8 * 30
    assert "FID" in driver.find_element("id", "headline").text
    assert driver.find_element("id", "card-link").get_attribute("href").endswith("/cards/cgan_fashion_mnist_28")
    screenshot(driver, "1_cgan")
    set_value(driver, "seed", 42)
    source, other = loaded_image(driver, "grid", source, containing="seed=42")
    assert "seed=42" in source and not np.array_equal(grid, other)
    set_value(driver, "label", 7)
    source, sneakers = loaded_image(driver, "grid", source, containing="label=7")
    assert "label=7" in source and not np.array_equal(other, sneakers)
    _, neighbours = loaded_image(driver, "memorization", containing="cgan")
    assert neighbours.shape[1] == 2 + 7 * 30 and "C_T" in driver.find_element("id", "memorization-numbers").text
    picture = tmp_path / "sneaker.png"
    Image.fromarray(sneakers[2:30, 2:30]).save(picture)  # the first sample, as a user's picture
    driver.find_element("id", "project-upload").send_keys(str(picture))
    _, projected = loaded_image(driver, "project-output", timeout=120)
    assert projected.shape == (28, 28) and "PSNR" in driver.find_element("id", "project-result").text
    screenshot(driver, "2_cgan_class_7")
    set_value(driver, "seed", -5)  # typed by hand past the box's minimum: the server says why
    deadline = time.monotonic() + 30
    while "seed must be an integer" not in driver.find_element("id", "error").text and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "seed must be an integer" in driver.find_element("id", "error").text
    set_value(driver, "seed", 2)

    set_value(driver, "model", "stylegan_lite_fashion_mnist_32")
    source, styled = loaded_image(driver, "grid", source, containing="stylegan_lite")
    mix_source, _ = loaded_image(driver, "mix", containing="stylegan_lite")
    assert driver.find_element("id", "class-row").is_displayed() is False
    set_value(driver, "truncation", 0.5)
    source, truncated = loaded_image(driver, "grid", source, containing="truncation=0.5")
    assert "truncation=0.5" in source and not np.array_equal(styled, truncated)
    assert driver.find_element("id", "truncation-value").text == "0.50"
    set_value(driver, "crossover", 1)
    mix_source, mixed = loaded_image(driver, "mix", mix_source, containing="crossover=1")
    assert "crossover=1" in mix_source and mixed.shape == (2 + 4 * 34, 2 + 4 * 34)
    _, strip = loaded_image(driver, "strip", containing="stylegan_lite")
    assert strip.shape == (36, 2 + 8 * 34)
    screenshot(driver, "3_stylegan_truncation_0.5")

    set_value(driver, "model", "srgan_fashion_mnist_x4")
    output_source, example = loaded_image(driver, "output")
    assert example.shape == (28, 28)  # a 7×7 test image, 4× larger
    picture = tmp_path / "mine.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (10, 12), dtype=np.uint8)).save(picture)
    driver.find_element("id", "upload").send_keys(str(picture))
    _, upscaled = loaded_image(driver, "output", output_source)
    _, shown_input = loaded_image(driver, "input")
    assert upscaled.shape == (40, 48)
    np.testing.assert_array_equal(shown_input, np.asarray(Image.open(picture)))
    screenshot(driver, "4_srgan_upload")
