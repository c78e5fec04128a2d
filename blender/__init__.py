"""Code that runs inside Blender (bpy, mathutils, numpy, the standard library and common/ only).

Modules that never import `bpy` (annotate, appearance, backgrounds, camera, drop, exr, lens,
mesh_turn, output, png, posing, rle, sampling, shapes, views) are pure: tests and
the pipeline import them outside Blender. tests/test_architecture.py checks this list.
"""
