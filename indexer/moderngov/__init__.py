"""Fetch a council's meeting papers from its ModernGov site into the corpus folder.

ModernGov (Civica) publishes committees, meetings, agenda items and their documents through
`mgWebService.asmx`. This package lists them (`api`), downloads politely (`client`), decides which
papers a meeting gives and what their manifest entries say (`papers`, `naming`), keeps files,
`manifest.yaml` and the resumable state consistent on disk (`store`), runs it all (`fetch`) and
offers it as `minutes-qa fetch moderngov` (`cli.register`). See docs/moderngov.md.
"""

from indexer.moderngov.cli import register

__all__ = ["register"]
