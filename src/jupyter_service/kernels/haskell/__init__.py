"""Haskell stable kernels."""
