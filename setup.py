from setuptools import find_packages, setup

setup(
    name="gan-zoo",
    version="0.1.0",
    description="A Keras 3 / TensorFlow model zoo of generative adversarial networks",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    classifiers=["License :: OSI Approved :: Apache Software License"],
    python_requires=">=3.10",
    packages=find_packages(include=["zoo", "zoo.*", "recipes", "recipes.*", "hub_export", "hub_export.*"]),
    include_package_data=True,
    package_data={"zoo": ["evaluators/*/*"], "zoo.presets": ["*/*.json", "*/*.h5", "*/*.png"],
                  "hub_export": ["*.html"]},
    install_requires=[
        "tensorflow>=2.16,<2.22",
        "keras>=3.6,<4",
        "tensorflow-datasets>=4.9,<5",
        "tensorboard>=2.16",
        "numpy>=1.26,<3",
        "pillow>=10",
        "matplotlib>=3.7",  # report figures
        "importlib_resources",  # tensorflow-datasets downloads need it but do not declare it
        "aiohttp>=3.9",  # gan-zoo serve
        "pot>=0.9",  # exact optimal transport for the wasserstein_distance metric (ot.emd2)
        "gudhi>=3.8",  # witness complexes and persistence for the geometry_score metric
        "scipy>=1.10",  # cdist for the transport and topology metrics (POT needs it too)
    ],
    extras_require={
        "onnx": ["tf2onnx>=1.16", "onnxruntime>=1.17"],  # gan-zoo export --format onnx
        "test": ["pytest>=8", "pytest-xdist>=3", "hypothesis>=6", "tensorflow-gan", "tensorflow-probability", "tf-keras",
                 "tensorflow-hub", "tf2onnx>=1.16", "onnxruntime>=1.17",
                 "selenium>=4.15"],  # the demo page in headless Chromium (Debian's chromium, chromium-driver)
    },
    entry_points={"console_scripts": ["gan-zoo=hub_export.cli:main"]},
)
