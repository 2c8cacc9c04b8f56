"""Widgets of the main window; each is a thin view over a model or the controller."""
