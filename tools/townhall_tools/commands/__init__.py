"""The ``townhall`` commands that are not part of a bigger tooling package; each module exposes
``register(sub)`` (``townhall_tools.options`` says how), and ``townhall_tools.cli`` lists them."""
