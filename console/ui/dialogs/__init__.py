"""Dialogs. None is ever run with exec(): each opens with open() and the caller awaits a
future resolved by `finished` (docs/architecture.md, "Qt and the event loop": exec()
inside a coroutine on qasync breaks the running task)."""
