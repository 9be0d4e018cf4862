"""The inference apps users run: ``predict`` (photos -> CSV + annotated images) and ``webcam`` (live video)."""
