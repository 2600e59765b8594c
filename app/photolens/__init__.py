"""Photolens: search your own photo library by what you remember, on your own computer."""
import os

# Privacy: ONNX Runtime's telemetry (a device id, an event queue and lookups of a Microsoft
# host) is switched off before anything can import onnxruntime; it reads this at import, so
# calling disable_telemetry_events() afterwards is too late. Every entry point imports this
# package first; the bundle also sets it in a runtime hook (packaging/rthook_privacy.py).
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
