"""Code that runs inside Blender (bpy, mathutils, numpy, the standard library and common/ only).

The command (render) and the per-image flow sit here: sampling (the scene's draws, element by
element), scene, layout, render_settings, output, annotate. Each part of a scene has a sub-package:
rigging, surfaces, optics, placement, world, codecs. Modules that never import `bpy` (annotate,
codecs.exr, codecs.png, codecs.rle, optics.camera, optics.camera_draw, optics.lens, optics.views,
output, placement.drop, random_draws, rigging.instance_draw, rigging.mesh_turn, rigging.posing,
rigging.shapes, sampling, surfaces.appearance, world.background_draw, world.backgrounds,
world.distractor_draw, world.lighting_draw) are pure: tests and the pipeline import them outside
Blender. tests/test_architecture.py checks this list.
"""
