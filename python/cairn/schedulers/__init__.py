"""Schedulers that run cairn graphs elsewhere than cairn's own threads and processes (so
far: dask.distributed)."""
