"""Reusable UI pieces: the page shell, badges, state callouts, the image viewer, the lung map."""
