"""The verbs: each operation takes inputs, does the work, and returns a result object.

A module holds one command's operation or a few close ones (``add`` and ``rm``; ``log``,
``show`` and ``ls``; ``fetch``, ``pull`` and ``clone``); ``build`` is ``Package.build`` into a
work tree, and ``hooks`` is what qvc's git hooks check and do. The mechanics they share live in
the layers below (moving HEAD forward in :mod:`qvc.core.fastforward`, transfers in
:mod:`qvc.remote.transfer`).

Operations never print, prompt or exit; progress reaches the caller through callbacks and
warnings through the ``qvc`` logger.
"""
