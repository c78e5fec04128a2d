"""Code that runs inside Blender (bpy, mathutils, numpy, the standard library and common/ only).

The command (render) and the per-image flow (scene, layout, render_settings, output, sampling,
annotate) sit here; each part of a scene has a sub-package: rigging, surfaces, optics, placement,
world, codecs. Modules that never import `bpy` (annotate, codecs.exr, codecs.png, codecs.rle,
optics.camera, optics.lens, optics.views, output, placement.drop, rigging.mesh_turn, rigging.posing,
rigging.shapes, sampling, surfaces.appearance, world.backgrounds) are pure: tests and the pipeline
import them outside Blender. tests/test_architecture.py checks this list.
"""
