"""Async orchestration over ports. Concrete adapters are handed in by `console.bootstrap`."""
