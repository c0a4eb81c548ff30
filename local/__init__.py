"""The local runtime: a composition root that runs the functions on one machine.

It imports ``functions`` and moto, so nothing in ``mailgate`` or ``functions`` may import it,
and ``infra`` leaves it out of every asset.
"""
