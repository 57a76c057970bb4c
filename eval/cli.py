"""The `minutes-qa` console script: the service's commands (index, ask, search, serve) and the
evaluation's (eval, train, train-encoder) in one parser.

This is the one module that sees both sides: `service.cli` knows nothing of `eval/`, and takes the
evaluation commands as registrars. It lives in `eval/` because `eval/` already depends on the
service, so the dependency still points one way.
"""

from __future__ import annotations

from eval.commands import register
from service.cli import main as service_main


def main(argv: list[str] | None = None) -> None:
    service_main(argv, commands=[register])


if __name__ == "__main__":
    main()
