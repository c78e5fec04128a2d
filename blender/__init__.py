"""Code that runs inside Blender (bpy, mathutils, numpy and the standard library only).

Modules without `bpy` in their imports (camera, sampling, annotate, backgrounds, coco, exr, png,
rle) are pure and are imported by tests and by the pipeline outside Blender as well.
"""
