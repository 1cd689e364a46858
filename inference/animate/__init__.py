"""Animators: a framed photo made to speak (see ``base.Animator``).

``warp`` (``warp.py`` and the modules it drives) is the embedded CPU animator: landmark-driven
2D deformation; ``sadtalker/`` is the neural GPU animator, used when its code and weights exist.
"""
