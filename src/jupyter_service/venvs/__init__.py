"""Experimental tier: per-user venv kernels, made fast by layering them on a prepared base venv."""
