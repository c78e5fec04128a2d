"""The rig: its mesh (procedural or from a file, turned into the rig frame), its keypoints on the
evaluated mesh, and a rig that moves (bones, actions, shape keys) posed per image.
"""
