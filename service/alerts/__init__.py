"""Saved searches ("alerts"): a question or topic with filters, checked against every index version
the service loads (and by `minutes-qa alerts check`); passages that newly match are recorded, shown
in an Atom feed and a JSON view, and optionally posted to a webhook.

- `matching.py`  the match rule and passage identity (read its docstring for the rule)
- `store.py`     the SQLite file: migrations, alerts, matches, webhook outbox
- `webhooks.py`  background delivery with retries
- `atom.py`      the Atom 1.0 feed
- `service.py`   `AlertService`, the one entry point for the API, the engine holder and the CLI
- `schemas.py`   the HTTP request and response models of /alerts
"""
