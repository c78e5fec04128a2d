"""The project around the stages: the files params name and their DVC deps (`dvc-deps`), and the
generated params reference.
"""
