"""Experimental tier: per-user venv kernels, made fast by cloning a prepared base venv."""
