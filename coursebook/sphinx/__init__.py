"""Sphinx extensions of the course book, loaded by module name from _config.yml
(`sphinx.extra_extensions`): `coursebook.sphinx.kit` (the kit links and the quiz on every chapter
page) and `coursebook.sphinx.fixes` (small fixes to the theme's pages)."""
