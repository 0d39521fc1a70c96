"""Artifacts for other runtimes (SavedModel, TF-Hub, TFLite, ONNX) and serving. Imports `zoo`, never the reverse."""
