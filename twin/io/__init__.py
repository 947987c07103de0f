"""Importers: a real site enters dctwin from NetBox (a dump, saved API pages or a live server) or from
a rack spreadsheet, as a validated layout whose every assumed value is marked and reported.

Headless (no Qt): the CLI (``dctwin import``) and the GUI (File > Import) are thin front ends.
"""
