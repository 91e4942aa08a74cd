"""Checking derivatives: ``gradcheck`` and its numeric side.

``numdiff`` estimates derivatives by Richardson extrapolation with an error estimate,
``probe`` evaluates a function around a point and watches its kinks, ``check`` compares the
engine's derivatives with them and reports the table.
"""
