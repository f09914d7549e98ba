"""Where a process starts: the command line today, the web panels and the scheduler later.

An entry point loads the settings, opens the overlay once, calls services and queries
with the section each needs, and turns what they return into text, HTML or JSON.
Nothing imports an entry point.
"""
