"""Photolens: search your own photo library by what you remember, on your own computer."""

__version__ = "0.1.0"
