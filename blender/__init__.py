"""Code that runs inside Blender (bpy, mathutils, numpy and the standard library only).

Modules that never import `bpy` (annotate, appearance, atomic, backgrounds, camera, drop, exr,
lens, mesh_turn, output, png, posing, rle, sampling, shapes, symmetry, views) are pure: tests and
the pipeline import them outside Blender. tests/test_architecture.py checks this list.
"""
