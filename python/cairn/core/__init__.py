"""The engine under the collections: what every collection and scheduler shares (native
task recipes so far; the graph protocol, config and callbacks move here next)."""
