"""The read side: plain query functions over the overlay, for the CLI now and the panels and API later.

Each takes a connection and returns plain data (dicts, dataclasses, frames); none imports
a service or formats text, so the same query serves a terminal table, an HTML panel and
a JSON answer.
"""
