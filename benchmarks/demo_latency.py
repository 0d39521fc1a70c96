"""How long does the demo page wait for each picture? Start the demo app (hub_export/demo.py) in-process over
the given presets, then time each request the page makes — after the app's own warm-up, with seeds,
classes and ψ the warm-up did not use — through aiohttp's test client, and print median and worst
seconds per request and per image.

    python benchmarks/demo_latency.py [--repeats 10]

Asserts nothing.
"""
import argparse
import asyncio
import statistics
import time

PRESETS = ["dcgan_fashion_mnist_28", "cgan_fashion_mnist_28", "stylegan_lite_fashion_mnist_32",
           "srgan_fashion_mnist_x4", "cyclegan_sneaker_boot_28"]
# (label, url for repeat i, images in the answer, method)
REQUESTS = [
    ("DCGAN 8 seeds", lambda i: f"/api/dcgan_fashion_mnist_28/sample?seed={100 + i}&count=8", 8, "GET"),
    ("CGAN 8 seeds, class", lambda i: f"/api/cgan_fashion_mnist_28/sample?seed={100 + i}&count=8&label={i % 10}", 8,
     "GET"),
    ("StyleGAN-lite 8 seeds, ψ", lambda i: f"/api/stylegan_lite_fashion_mnist_32/sample?seed={100 + i}&count=8"
                                          f"&truncation={0.05 * (i % 20):.2f}", 8, "GET"),
    ("StyleGAN-lite interpolation", lambda i: f"/api/stylegan_lite_fashion_mnist_32/interpolate?a={i}&b={i + 50}"
                                              "&steps=8&truncation=0.7", 8, "GET"),
    ("StyleGAN-lite style mixing 3×3", lambda i: f"/api/stylegan_lite_fashion_mnist_32/mix?rows={i},{i + 1},{i + 2}"
                                                 f"&columns={i + 3},{i + 4},{i + 5}&crossover={i % 8}", 15, "GET"),
    ("SRGAN upload 7×7 → 28×28", lambda i: "/api/srgan_fashion_mnist_x4/transform", 1, "POST"),
    ("CycleGAN upload", lambda i: f"/api/cyclegan_sneaker_boot_28/transform?direction={'a2b' if i % 2 else 'b2a'}", 1,
     "POST"),
]


async def measure(repeats):
    from aiohttp.test_utils import TestClient, TestServer

    from hub_export.demo import make_app

    started = time.perf_counter()
    app = make_app(PRESETS)
    print(f"start-up (load and warm up {len(PRESETS)} presets): {time.perf_counter() - started:.1f} s\n")
    rows = []
    async with TestClient(TestServer(app)) as client:
        examples = {name: await (await client.get(f"/api/{name}/example?index=5")).read()
                    for name in ("srgan_fashion_mnist_x4", "cyclegan_sneaker_boot_28")}
        for label, url, images, method in REQUESTS:
            seconds = []
            for i in range(repeats):
                begin = time.perf_counter()
                if method == "GET":
                    response = await client.get(url(i))
                else:
                    response = await client.post(url(i), data=examples[url(i).split("/")[2]])
                await response.read()
                assert response.status == 200, await response.text()
                seconds.append(time.perf_counter() - begin)
            rows.append((label, images, statistics.median(seconds), max(seconds)))
    print("| request | images | median s | worst s | median s / image |\n|---|---|---|---|---|")
    for label, images, median, worst in rows:
        print(f"| {label} | {images} | {median:.3f} | {worst:.3f} | {median / images:.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    asyncio.run(measure(parser.parse_args().repeats))


if __name__ == "__main__":
    main()
