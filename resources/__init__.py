"""The top-level resources/ directory, installed as the package `console.resources`.

This directory is the one source of the files that ship beside the code: the stylesheets,
the application icons, the desktop entry and AppStream metainfo, the Grafana dashboard and
the systemd unit. setup.py maps the package `console.resources` onto it, so a wheel, an
editable install and the PyInstaller bundle (packaging/recon-console.spec) all carry it
under console/resources/, and the program reads it with importlib.resources
(console/ui/assets.py). This file only makes it a package; it holds no code.
"""
