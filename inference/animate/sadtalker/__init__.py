"""The SadTalker animator: ``engine.py`` (the animator), ``glue.py`` (SadTalker's data
preparation in numpy, testable without it), ``upstream.py`` (the one import of its code) and
``home.py`` (where that code lives)."""
