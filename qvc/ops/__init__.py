"""One module per verb: each takes inputs, does the work, and returns a result object.

Operations never print, prompt or exit; progress reaches the caller through callbacks and
warnings through the ``qvc`` logger.
"""
