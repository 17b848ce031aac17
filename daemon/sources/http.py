"""HTTP for API sources: one client, authentication, retries that never hide a partial pull.

Why it looks like this: a pull runs unattended at night against servers that fail briefly (a 5xx,
a dropped connection, a 429 while another district syncs). Those are tried again with backoff
(429 after the server's own Retry-After); a refused credential is not (repeating it only risks a
lockout), and whatever still fails ends the pull with a message that names the URL's path, never
a secret or a query string.

What a server sends cannot hold the night or its memory: `timeout_seconds` bounds each read, so
`response_deadline_seconds` bounds a whole response (a server dripping a byte at a time is cut
off, and that try counts as a dropped connection), and `max_page_bytes` bounds a page's body,
from its Content-Length and while it streams (a page too large fails at once: it would be as
large again).
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_AUTH_HEADER
from oauthlib.oauth1 import Client as OAuth1Client
from oauthlib.oauth2 import BackendApplicationClient
from pydantic import BaseModel, Field, SecretStr, ValidationError

from daemon.sources.config import SourceConfig
from daemon.sources.errors import SourceAuthError, SourceError, hide, redact
from daemon.words import times

LOG = logging.getLogger("roster_sync.sources")
MAX_RETRY_AFTER = 300.0  # seconds; a server asking for longer is out for the night
BACKOFF_CAP = 60.0
TOKEN_MARGIN = 30.0  # a token this close to its expiry is renewed before it is used
USER_AGENT = "roster-sync/0.1"


def pause(seconds: float) -> None:
    """How a pull waits between tries (a module function, so a test can stand in for it)."""
    time.sleep(seconds)


def where(url: str | httpx.URL) -> str:
    """A URL as messages show it: host, port and path, never a user, password or query (the
    query may hold paging cursors)."""
    try:
        parts = urlsplit(str(url))
    except ValueError:  # an invalid URL (a broken next link) is shown without its query
        return str(url).partition("?")[0].rpartition("@")[2][:200]
    return f"{parts.netloc.rpartition('@')[2]}{parts.path}"


def _redirect_target(url: str, location: str) -> str:
    """Where a redirect points, as messages show URLs."""
    try:
        return where(httpx.URL(url).join(location)) or "(nowhere)"
    except (httpx.InvalidURL, ValueError):
        return "(an address that cannot be read)"


class _Token(BaseModel):
    # RFC 6750's b64token is visible ASCII: a line break would break the header (and httpx's
    # error would quote the token)
    access_token: str = Field(pattern=r"^[\x21-\x7e]+$")
    token_type: str = "Bearer"
    expires_in: float | None = None


def basic_credentials(client_id: str, secret: str) -> list[tuple[str, str]]:
    """The HTTP Basic user and password to try at a token endpoint, in order. RFC 6749 2.3.1:
    client_id and secret are form-urlencoded (Appendix B: UTF-8, then %XX, a space as '+') before
    Basic joins them with ':' and base64s them, so a compliant server reads a secret holding ':',
    '%', '+' or a non-ASCII letter as it is. Some servers skip the decoding: when the encoded form
    differs, the credentials as they are come second (tried only after the first is refused)."""
    encoded = (quote_plus(client_id), quote_plus(secret))
    return [encoded] if encoded == (client_id, secret) else [encoded, (client_id, secret)]


class OAuth2Tokens:
    """OAuth 2.0 client credentials (RFC 6749 4.4): a token from the token endpoint, renewed
    before it expires and once more when the API says it has (a 401 mid-pull). The token
    endpoint is tried again like any request (a 5xx, a dropped connection). The credentials go
    in HTTP Basic as RFC 6749 2.3.1 encodes them, else as they are (`basic_credentials`): the
    form the endpoint took is used for every later token."""

    def __init__(self, config: SourceConfig, secret: SecretStr, clock: Callable[[], float]):
        assert config.token_url and config.client_id
        self.config, self.secret, self.clock = config, secret, clock
        self.oauth = BackendApplicationClient(client_id=config.client_id)
        self.token: str | None = None
        self.expires_at: float | None = None
        self.fetched = 0
        self.basic = basic_credentials(config.client_id, secret.get_secret_value())
        for user, password in self.basic:
            hide(password)
            hide(f"{user}:{password}")  # as HTTP Basic sends it

    def bearer(self, fetcher: Fetcher) -> str:
        if self.token is None or (
            self.expires_at is not None and self.clock() >= self.expires_at - TOKEN_MARGIN
        ):
            self.renew(fetcher)
        assert self.token is not None
        return self.token

    def forget(self) -> None:
        self.token = None

    def renew(self, fetcher: Fetcher) -> None:
        assert self.config.token_url and self.config.client_id
        endpoint = f"the token endpoint {where(self.config.token_url)}"
        response = self._ask(fetcher, self.basic[0], endpoint)
        if _refused_client(response) and len(self.basic) > 1:
            response = self._ask(fetcher, self.basic[1], endpoint)
            if response.status_code == 200:
                self.basic = self.basic[1:]  # an endpoint that does not decode: this form on
        if response.status_code in (400, 401, 403):
            raise SourceAuthError(
                f"{endpoint} refused client_id {self.config.client_id!r} (HTTP "
                f"{response.status_code}{_oauth_error(response)}); check client_id, the secret "
                "and scope"
            )
        if response.status_code != 200:
            raise SourceError(
                f"{endpoint} answered HTTP {response.status_code}; without a token the pull is "
                "incomplete, so nothing was planned"
            )
        try:
            token = _Token.model_validate_json(response.content)
        except ValidationError:
            raise SourceError(
                f"{endpoint} answered without a usable access_token (none, or one holding a line "
                "break or another character a header cannot carry); nothing was planned"
            ) from None
        if token.token_type.lower() != "bearer":
            raise SourceError(f"the token endpoint gave a {token.token_type} token, not Bearer")
        self.token = token.access_token
        self.expires_at = self.clock() + token.expires_in if token.expires_in else None
        self.fetched += 1

    def _ask(self, fetcher: Fetcher, basic: tuple[str, str], endpoint: str) -> httpx.Response:
        """The token endpoint's answer to the client credentials, in HTTP Basic as `basic`."""
        assert self.config.token_url
        token_url = self.config.token_url
        body = self.oauth.prepare_request_body(scope=self.config.scope or None)
        auth = httpx.BasicAuth(*basic)

        def request() -> httpx.Request:
            post = fetcher.http.build_request(
                "POST",
                token_url,
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            return next(auth.auth_flow(post))  # sets the Basic header on the request

        response = fetcher.send(token_url, request, endpoint)
        _hide_token(response)
        return response


def _refused_client(response: httpx.Response) -> bool:
    """The token endpoint refused the client's credentials (not its grant or scope)."""
    return response.status_code == 401 or _oauth_error(response) == ": invalid_client"


def _hide_token(response: httpx.Response) -> None:
    """Whatever access_token the endpoint sent is a secret, usable or not."""
    try:
        data = response.json()
    except Exception:
        return
    if isinstance(data, dict) and isinstance(data.get("access_token"), str):
        hide(data["access_token"])


def _oauth_error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except Exception:
        return ""
    return f": {error}" if isinstance(error, str) and len(error) < 80 else ""


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _transient(exc: httpx.HTTPError) -> bool:
    """httpx's transport errors are the network's (tried again), except the ones this side
    causes: a request that cannot be sent (a header with a line break) or a scheme httpx does
    not speak. Anything else (a body that cannot be decoded) is the response's, not the night's."""
    return isinstance(exc, httpx.TransportError) and not isinstance(
        exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol
    )


# Content-Encodings a page may come in (what the client asks for): each is decoded here, a piece at
# a time, so a small compressed body cannot grow past max_page_bytes in memory before it is counted.
ENCODINGS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
ACCEPT_ENCODING = "gzip, deflate"
PIECE = 1 << 20  # the most a decoder gives at once


class _Body:
    """A response body decoded as it streams, a bounded piece at a time, so no more than one byte
    past max_page_bytes is ever held: httpx's own decoders turn each 64 KiB chunk of gzip into
    all it holds at once (a chunk of zeros: 66 MB)."""

    def __init__(self, encoding: str | None, what: str) -> None:
        self.what = what
        self.name = (encoding or "").strip().lower() or "identity"
        if self.name not in (*ENCODINGS, "identity"):
            raise SourceError(
                f"{what}: the response is in Content-Encoding {self.name!r}, which was not asked "
                "for (gzip or deflate) and cannot be read; the pull is incomplete, so nothing "
                "was planned"
            )
        self.zlib = zlib.decompressobj(ENCODINGS[self.name]) if self.name in ENCODINGS else None
        self.started = False

    def pieces(self, data: bytes, room: int) -> Iterator[bytes]:
        """The decoded bytes of `data`, at most `room` bytes of them in all (the caller stops
        once they pass its limit), in pieces of at most PIECE bytes."""
        if self.zlib is None:
            yield data
            return
        while data:
            try:
                piece = self.zlib.decompress(data, max(1, min(PIECE, room)))
            except zlib.error as exc:
                if self.name == "deflate" and not self.started:  # deflate without its zlib header
                    self.zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self.started = True
                    continue
                raise self._broken(str(exc)) from None
            self.started = True
            if self.zlib.eof and self.zlib.unused_data.strip(b"\0 \t\r\n"):
                data = self.zlib.unused_data  # another gzip member follows (RFC 1952)
                self.zlib = zlib.decompressobj(ENCODINGS[self.name])
            elif self.zlib.eof:
                data = b""  # padding after the end (NULs, a line end) is no part of the page
            else:
                data = self.zlib.unconsumed_tail
            if piece:
                room -= len(piece)
                yield piece

    def end(self) -> None:
        """The body has ended: a compressed one must have ended whole."""
        if self.zlib is not None and self.started and not self.zlib.eof:
            raise self._broken("it ends before its end")

    def _broken(self, why: str) -> SourceError:
        return SourceError(
            f"{self.what}: the response's {self.name} body cannot be decoded ({why}); the pull "
            "is incomplete, so nothing was planned"
        )


class _Late(Exception):
    """A response did not arrive whole within response_deadline_seconds."""


class _Watch:
    """One response's deadline. Each chunk of the body is checked against the clock; a read that
    returns nothing (headers dripped a byte at a time, which h11 gathers without returning)
    is ended by shutting the client's sockets when the deadline passes."""

    def __init__(self, seconds: float, sockets: Callable[[], list[socket.socket]]) -> None:
        self.seconds, self.sockets = seconds, sockets
        self.started = time.monotonic()
        self.expired = False
        self.timer = threading.Timer(seconds, self.cut)
        self.timer.daemon = True

    def __enter__(self) -> _Watch:
        self.timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.timer.cancel()

    def check(self) -> None:
        if self.expired or time.monotonic() - self.started > self.seconds:
            self.expired = True
            raise _Late

    def cut(self) -> None:
        self.expired = True
        for sock in self.sockets():
            shut(sock)


def shut(sock: socket.socket) -> None:
    """Ends any read in progress on `sock` (the plain socket's shutdown, also under TLS: the TLS
    state is left to the reading thread)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Fetcher:
    """GETs with the source's authentication, retries and backoff. `sleep` and `clock` are
    injectable so tests do not wait."""

    def __init__(
        self,
        config: SourceConfig,
        secret: SecretStr,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff: float = 1.0,
    ) -> None:
        self.config, self.secret, self.sleep, self.backoff = config, secret, sleep, backoff
        self.http = httpx.Client(
            timeout=config.timeout_seconds,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            follow_redirects=False,
        )
        self.tokens = OAuth2Tokens(config, secret, clock) if config.auth == "oauth2" else None
        self.oauth1 = (
            OAuth1Client(
                config.client_id,
                client_secret=secret.get_secret_value(),
                signature_method=SIGNATURE_HMAC_SHA256,
                signature_type=SIGNATURE_TYPE_AUTH_HEADER,
            )
            if config.auth == "oauth1"
            else None
        )
        self.requests = 0
        self.retried = 0
        self.sockets: list[socket.socket] = []  # the client's connections, for a deadline to cut
        self.watch: _Watch | None = None
        hide(secret.get_secret_value())

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, url: str) -> httpx.Request:
        request = self.http.build_request("GET", url)
        if self.oauth1 is not None:
            _, headers, _ = self.oauth1.sign(str(request.url), "GET")
            request.headers["Authorization"] = headers["Authorization"]
        elif self.tokens is not None:
            request.headers["Authorization"] = f"Bearer {self.tokens.bearer(self)}"
        else:
            request.headers["Authorization"] = f"Bearer {self.secret.get_secret_value()}"
        return request

    def follow(self, current: str, link: str) -> str:
        """A next link as an absolute URL. One that leaves the API's scheme, host or port is
        refused: the credentials go only where base_url points."""
        try:
            url = str(httpx.URL(current).join(link))
        except (httpx.InvalidURL, ValueError) as exc:
            raise SourceError(
                f"{where(current)}: the next link is not a valid URL ({_reason(exc)}); the pull "
                "is incomplete, so nothing was planned"
            ) from None
        self._same_origin(url, "the next link")
        return url

    def _same_origin(self, url: str, what: str) -> None:
        api = httpx.URL(self.config.base_url)
        try:
            target = httpx.URL(url)
            same = (target.scheme, target.host, target.port) == (api.scheme, api.host, api.port)
        except (httpx.InvalidURL, ValueError):
            same = False
        if not same:
            raise SourceError(
                f"{what} leaves the API's host ({where(url)} is not on {api.scheme}://"
                f"{api.netloc.decode()}); refused, so the credentials were not sent there and "
                "nothing was planned"
            )

    def get(self, url: str, *, allow_404: bool = False, allow_204: bool = False) -> httpx.Response:
        """The response (its body read) of a GET; 404 only when `allow_404`, 204 (No Content)
        only when `allow_204`. Anything else that is not a 200 after the retries raises
        SourceError."""
        self._same_origin(url, "the URL")
        response = self.send(url, lambda: self._request(url))
        if response.status_code == 401 and self.tokens is not None:
            self.tokens.forget()  # the token expired early (or was revoked): one more
            response = self.send(url, lambda: self._request(url))
        status = response.status_code
        if status == 200 or (status == 404 and allow_404) or (status == 204 and allow_204):
            return response
        if status in (401, 403):
            raise SourceAuthError(
                f"{where(url)} refused the credentials (HTTP {status}); check client_id "
                "and the secret, and that the application may read this district"
            )
        if 300 <= status < 400 and response.headers.get("Location"):
            # not followed (the credentials stay on the API's host): say where it pointed
            raise SourceError(
                f"{where(url)} answered HTTP {status}, a redirect to "
                f"{_redirect_target(url, response.headers['Location'])}, which is not followed; "
                "if the API moved, set base_url to its new address; nothing was planned"
            )
        raise SourceError(f"{where(url)} answered HTTP {status}; nothing was planned")

    def send(
        self, url: str, build: Callable[[], httpx.Request], what: str | None = None
    ) -> httpx.Response:
        """The response (its body read) to the request `build` makes, tried again after a 5xx,
        a 429 or a network failure; any other status is the caller's to judge. `requests` counts
        the API's (not the token endpoint's, which passes `what`)."""
        api = what is None
        what = what or where(url)
        attempt = 0
        while True:
            attempt += 1
            self.requests += api
            problem: str
            wait: float
            try:
                response = self._receive(build(), what)
            except _Late:
                wait = self._backoff(attempt)
                problem = (
                    f"no whole response within {self.config.response_deadline_seconds:g} s "
                    "(response_deadline_seconds)"
                )
            except httpx.HTTPError as exc:
                if not _transient(exc):
                    raise SourceError(
                        f"{what}: {type(exc).__name__}: {_reason(exc)}; the pull is incomplete, "
                        "so nothing was planned"
                    ) from None
                problem, wait = _reason(exc), self._backoff(attempt)
            except httpx.InvalidURL as exc:
                raise SourceError(f"{what}: not a valid URL ({_reason(exc)})") from None
            else:
                status = response.status_code
                if status == 429:
                    problem = "HTTP 429 (too many requests)"
                    wait = self._retry_after(response, attempt)
                elif status >= 500:
                    problem, wait = f"HTTP {status}", self._backoff(attempt)
                else:
                    return response
            if attempt > self.config.retries:
                raise SourceError(
                    f"{what} failed {times(attempt)} "
                    f"(last: {problem}); the pull is "
                    "incomplete, so nothing was planned"
                )
            self.retried += 1
            self._wait(wait, f"{what}: {problem}")

    def back_off(self, attempt: int, why: str) -> None:
        """The backoff before try `attempt` of something larger than a request (a collection read
        again from its start because it moved under the pull)."""
        self._wait(self._backoff(attempt), why)

    def _wait(self, seconds: float, why: str) -> None:
        LOG.warning("%s", redact(f"{why}; trying again in {seconds:.1f} s"))
        (self.sleep or pause)(seconds)

    def _receive(self, request: httpx.Request, what: str) -> httpx.Response:
        """The response with its body read (`content`, `headers`, `links` as httpx's own), within
        the deadline and at most max_page_bytes, counted as the body is decoded (a small gzip
        can hold a large page)."""
        request.extensions["trace"] = self._keep_socket
        with _Watch(self.config.response_deadline_seconds, lambda: list(self.sockets)) as watch:
            self.watch = watch
            try:
                response = self.http.send(request, stream=True)
                try:
                    self._too_large(what, response.headers.get("Content-Length"))
                    body = _Body(response.headers.get("Content-Encoding"), what)
                    chunks, size = [], 0
                    for raw in response.iter_raw():
                        watch.check()
                        room = self.config.max_page_bytes - size + 1  # one byte over: too large
                        for chunk in body.pieces(raw, room):
                            size += len(chunk)
                            self._too_large(what, None, size)
                            chunks.append(chunk)
                    body.end()
                    watch.check()
                    response._content = b"".join(chunks)  # what read() keeps, read under limits
                finally:
                    response.close()
            except httpx.HTTPError:
                if watch.expired:  # the deadline shut the socket under the read
                    raise _Late from None
                raise
            finally:
                self.watch = None
        return response

    def _too_large(self, what: str, length: str | None, size: int = 0) -> None:
        limit = self.config.max_page_bytes
        said = int(length) if length and length.isascii() and length.isdigit() else 0
        if max(size, said) <= limit:
            return
        how = f": its Content-Length is {said}" if said > limit else ""
        raise SourceError(
            f"{what}: the response is larger than max_page_bytes ({limit} bytes){how}; lower "
            "page_size or raise max_page_bytes; the pull is incomplete, so nothing was planned"
        )

    def _keep_socket(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace of a new connection: its socket (plain, then TLS) is kept, so the
        deadline can cut a read on it."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        self.sockets = [s for s in self.sockets if s.fileno() != -1] + [sock]
        if self.watch is not None and self.watch.expired:  # connected after the deadline
            shut(sock)

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2 ** (attempt - 1), BACKOFF_CAP)

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        value = response.headers.get("Retry-After", "").strip()
        seconds: float | None = None
        if value.isascii() and value.isdigit():  # str.isdigit also holds for "²"
            seconds = float(value)
        elif value:
            try:
                when = email.utils.parsedate_to_datetime(value)
                seconds = max(0.0, (when - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                seconds = None
        if seconds is None:
            return self._backoff(attempt)
        if seconds > MAX_RETRY_AFTER:
            raise SourceError(
                f"{where(response.url)} asks to wait {seconds:.0f} s (HTTP 429, Retry-After); "
                "that is longer than a pull waits, so nothing was planned"
            )
        return seconds
