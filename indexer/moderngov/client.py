"""A polite HTTP client for one council's site: rate-limited, conditional, retried within limits.

Politeness is the point: council sites are small, often self-hosted, and some put automated clients
behind a firewall. So every request
* waits until `min_interval` seconds have passed since the previous one started (retries included);
* names itself in the User-Agent (minutes-qa and what it does), so the council can see who calls;
* sends the validators (ETag / Last-Modified) seen last time, so an unchanged paper costs a 304;
* is retried only on what a later attempt can fix (5xx, 429, timeouts, dropped connections), a few
  times, with exponential backoff that honours a `Retry-After` header (capped);
* is never retried on another 4xx: a 404 is reported to the caller as `NotFound` and skipped;
* is never retried either when the answer itself is broken (a redirect loop, a body its
  Content-Encoding cannot decode) or the URL cannot be asked for at all: that is `RequestFailed`,
  a failure of that one URL, not a sign that the site is down.

LGSF's minutes scraper notes that ModernGov installs vary in whether they send validators at all
(lgsf/minutes/tests/test_index_and_etags.py, "Plenty of ModernGov installs send no ETag at all");
without them a request is an ordinary GET and the caller compares the bytes' sha256 instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential


def _version() -> str:
    try:
        return metadata.version("minutes-qa")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"minutes-qa/{_version()} (fetches public council meeting papers; rate-limited, conditional requests)"


@dataclass(frozen=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int  # 200, or 304 when the validators still match
    content: bytes  # empty on 304
    validators: Validators
    content_type: str


class HttpError(Exception):
    """A response that is neither 2xx nor 304; `status` is the HTTP status code."""

    def __init__(self, url: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.url, self.status, self.retry_after = url, status, retry_after


class NotFound(HttpError):
    """404: the paper is gone or never was; reported and skipped, never retried."""


class Unreachable(Exception):
    """No HTTP answer at all after the allowed attempts (DNS, refused, timeouts)."""


class RequestFailed(Exception):
    """This URL's exchange went wrong in a way no retry fixes, though the site answers: too many
    redirects, an undecodable body, a URL httpx cannot request (an ftp:// link). Never retried."""


MAX_REDIRECTS = 5  # http -> https and a move or two; followed redirects are not spaced by min_interval


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, HttpError):
        return exc.status >= 500 or exc.status == 429  # 429: "slow down", with the Retry-After honoured
    if isinstance(exc, httpx.UnsupportedProtocol):  # a TransportError, but about the URL, not the site
        return False
    return isinstance(exc, httpx.TransportError)  # includes timeouts, connect and read errors


def _one_line(exc: Exception) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(": ")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # the HTTP-date form is rare on these sites; the exponential wait covers it


class PoliteClient:
    """GET with rate limiting, validators and bounded retries; counts requests and bytes received."""

    def __init__(
        self,
        *,
        min_interval: float = 0.5,
        attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.min_interval, self.attempts, self.backoff, self.max_backoff = min_interval, attempts, backoff, max_backoff
        self._sleep = sleep or time.sleep
        self._last_start: float | None = None
        self.requests = 0
        self.bytes_received = 0
        self._http = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            follow_redirects=True,  # document URLs can come back as http:// (reported for Lambeth) on https sites
            max_redirects=MAX_REDIRECTS,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait_turn(self) -> None:
        if self._last_start is not None and self.min_interval > 0:
            remaining = self.min_interval - (time.monotonic() - self._last_start)
            if remaining > 0:
                self._sleep(remaining)
        self._last_start = time.monotonic()

    def _wait(self, state: RetryCallState) -> float:
        wait = wait_exponential(multiplier=self.backoff, max=self.max_backoff)(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, HttpError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self.max_backoff))
        return wait

    def _once(self, url: str, headers: dict[str, str]) -> Fetched:
        self._wait_turn()
        self.requests += 1
        response = self._http.get(url, headers=headers)
        self.bytes_received += response.num_bytes_downloaded  # as sent (compressed), not as decoded
        if response.status_code == 404:
            raise NotFound(url, 404)
        if response.status_code != 304 and not 200 <= response.status_code < 300:
            raise HttpError(url, response.status_code, _retry_after(response))
        return Fetched(
            url=url,
            status=304 if response.status_code == 304 else 200,
            content=b"" if response.status_code == 304 else response.content,
            validators=Validators(response.headers.get("etag"), response.headers.get("last-modified")),
            content_type=response.headers.get("content-type", "").split(";")[0].strip().lower(),
        )

    def get(self, url: str, validators: Validators | None = None) -> Fetched:
        """GET `url`; with validators, a 304 comes back as `status=304` and no content.

        Raises NotFound (404), HttpError (other 4xx, or 5xx after the retries), Unreachable (no answer
        after the retries) or RequestFailed (a broken answer or an unusable URL; not retried).
        """
        headers: dict[str, str] = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(max(1, self.attempts)),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            fetched = retrying(self._once, url, headers)
        except httpx.UnsupportedProtocol as exc:
            raise RequestFailed(_one_line(exc)) from None
        except httpx.TransportError as exc:
            raise Unreachable(_one_line(exc)) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # TooManyRedirects, DecodingError, …
            raise RequestFailed(_one_line(exc)) from None
        if fetched.status == 304 and validators:
            # A 304 may omit validators; keep the ones that still match.
            etag = fetched.validators.etag or validators.etag
            last_modified = fetched.validators.last_modified or validators.last_modified
            fetched = Fetched(url, 304, b"", Validators(etag, last_modified), fetched.content_type)
        return fetched
