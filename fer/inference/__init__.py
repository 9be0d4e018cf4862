"""Faces in, emotions out: ``Recognizer`` (detect, crop, classify), ``LiveStream`` (one video stream: follow,
classify, smooth, draw) and ``load_model`` (an exported model, a checkpoint, or a bundled model by name:
``accurate``, ``fast``). ONNX export and the ONNX Runtime backend: fer.inference.onnx."""

from fer.inference.live import LiveStream
from fer.inference.model import BUNDLED_MODELS, deploy, export_checkpoint, export_model, load_model, model_path
from fer.inference.recognizer import Face, Recognizer

__all__ = ["BUNDLED_MODELS", "Face", "LiveStream", "Recognizer", "deploy", "export_checkpoint", "export_model",
           "load_model", "model_path"]
