"""The ``study`` command line: thin commands over :mod:`study.api`, heavy imports deferred."""
