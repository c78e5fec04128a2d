"""How a rig looks: procedural materials, a mesh file's own materials, decals, wear, the per-image
appearance draws (pure) and the shader-graph plumbing they share.
"""
