"""Dialogs. None is ever run with exec(): each opens with open() and the caller awaits a
future resolved by `finished` (design.md §7: exec() inside a coroutine on qasync breaks
the running task)."""
