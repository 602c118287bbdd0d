"""The pure inference core: decode, preprocess, run the ONNX model, post-process, render.

Imports no web, database, AWS or torch code. Submodules are imported on use so that training
can read the manifest and the findings template without onnxruntime or pydicom installed.
"""
