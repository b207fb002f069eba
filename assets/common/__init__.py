"""Pieces shared by every domain's assets: paths, validated file reading, quarantine, metadata."""
