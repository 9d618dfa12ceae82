"""Ray, imported once with a message that says how to get it."""
try:
    import ray
except ImportError as exc:  # the extra is not installed
    raise ImportError("fastpg.distributed runs on Ray: pip install 'fastpg[ray]' "
                      f"({exc})") from None

__all__ = ["ray"]
