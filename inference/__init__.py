"""Govorun's inference side: the render pipeline and, later, the worker."""

from importlib.metadata import version

__version__ = version("govorun")
