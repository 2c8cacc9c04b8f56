"""The Qt operator console (arrives with the console issue). Imports engine and domain only."""
