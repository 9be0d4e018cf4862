"""Faces in, emotions out: ``Recognizer`` (detect, crop, classify) and ``load_model`` (an exported model,
a checkpoint, or a bundled model by name: ``accurate``, ``fast``)."""

from fer.inference.model import BUNDLED_MODELS, deploy, export_checkpoint, export_model, load_model, model_path
from fer.inference.recognizer import Face, Recognizer

__all__ = ["BUNDLED_MODELS", "Face", "Recognizer", "deploy", "export_checkpoint", "export_model", "load_model", "model_path"]
