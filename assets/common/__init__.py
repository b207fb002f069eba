"""Pieces shared by every domain's definitions: asset keys, partitions, automation policy, paths, metadata, the
inbox sensor shape and the specs of side tables. No `defs` here: each domain package exports its own."""
