"""Tools for writing a rig: `preview` (a turntable sheet) and `mesh-info` (a mesh file's facts and
a rig to paste).
"""
