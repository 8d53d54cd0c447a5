"""Sniffing and decoding of media files into pixels, samples and text: the lowest layer of anyseek.

Shared by the indexer (files to chunks) and by the engine's query side (query files, uploads, thumbnails).
It knows no store and no model. Its only anyseek imports are leaf modules that import nothing else of
anyseek: `engine/errors.py` (ExtractionError) and `engine/records.py` (Modality, Chunk). A decoder that
needs a model's input size or preprocessing takes it as an argument. tests/test_architecture.py holds
this rule. Importing this package loads nothing heavy (no torch, no PyAV until a decoder runs).
"""
