"""The ``warp`` animator: a still face made to speak by landmark-driven 2D deformation."""
