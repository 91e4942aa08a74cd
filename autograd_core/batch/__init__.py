"""Compiled batch mode: trace a function once, then run its graph over numpy batches.

``trace`` records one evaluation into a flat program, ``schedule`` groups it into matrix
products and per-level op batches, ``compiler`` puts the two behind ``compile()``. Every op
runs through the same op-table rules as the eager engine, on the ``NUMPY`` backend.
"""
