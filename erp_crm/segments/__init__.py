"""Segments: named, saved filters over partners, written in a small filter language."""
