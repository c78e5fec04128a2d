"""Pure code that every layer shares: the renderer inside Blender, the dataset stages and training.

It imports only numpy and the standard library, so a stock Blender's Python runs it as well as
the project's environment; train/ and pipeline/ use it without reaching into blender/.
tests/test_architecture.py checks this.
"""
