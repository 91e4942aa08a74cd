"""Seeing the graph: graphviz drawings, the step-by-step backward pass and its Jupyter stepper.

``draw`` (with ``draw_fit`` for the layout and ``graph_summary`` for big graphs) draws values,
grads and ops; ``steps`` runs backward one node at a time; ``widgets`` is the stepper;
``graphviz_setup`` makes the pip-installed ``dot`` available when no system one exists.
"""
