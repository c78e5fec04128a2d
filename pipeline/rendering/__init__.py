"""The `render` stage's driver: the spec handed to Blender (calibrations, decal images, mesh
distractors resolved), the Blender command, shards in parallel or on Ray.
"""
