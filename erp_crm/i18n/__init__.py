"""Hungarian and English: the words people read, and numbers, dates and forint amounts formatted per locale.

Stored data never holds finished sentences: services store codes with their numbers,
and whoever shows them renders them here in the reader's language. A third language
or a better wording is then a change of this package, not a migration.
"""

LOCALES = ("hu", "en")
