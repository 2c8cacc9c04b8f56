"""The Qt operator console: one window over one `EngineSession` per open account.

Imports the engine and the domain only (import-linter contract); the composition root
(`console.bootstrap_gui`) hands it everything concrete through the protocols in
`console.ui.ports`. All I/O runs off the GUI path: the engine's ledger calls go through
`asyncio.to_thread`, and so do the few reads the models make directly.
"""
