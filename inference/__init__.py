"""Govorun's inference side: the render pipeline and, later, the worker."""
