"""Code that runs inside Blender (bpy, mathutils, numpy and the standard library only).

Modules without `bpy` in their imports (atomic, annotate, backgrounds, camera, exr, output, png,
rle, sampling, shapes) are pure and are imported by tests and by the pipeline outside Blender.
"""
