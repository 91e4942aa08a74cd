"""The ``backprop`` command line: ``cli`` (parser, ``graph``, ``check``), ``cli_train`` and the
expression language ``expr`` that ``graph``/``check`` parse (an ``ast`` allow-list, never eval)."""
