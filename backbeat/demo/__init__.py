"""Deterministic demo data: a catalog with audio, rights, policies, contacts and two radio stations' chunks.

`generate_demo(data_dir)` writes everything; see `backbeat.demo.generator` for the layout.
"""

from backbeat.demo.generator import DemoManifest, demo_paths, generate_demo

__all__ = ["DemoManifest", "demo_paths", "generate_demo"]
