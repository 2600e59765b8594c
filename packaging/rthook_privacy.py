"""PyInstaller runtime hook: runs before the bundle imports anything. ONNX Runtime's telemetry
is switched off before onnxruntime can be imported (see app/photolens/__init__.py)."""
import os

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
