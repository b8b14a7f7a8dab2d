"""Exit 0 when an HTTP request answers 2xx in time, 1 otherwise: a curl-free probe for Docker HEALTHCHECK.

Usage: python http_probe.py URL [--timeout SECONDS] [--host HOST_HEADER] [--json BODY]
A GET, or with --json a POST of that JSON body (the blue-green smoke checks search with it).
Only the standard library is used, so any image with a Python interpreter can run it.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

# Ignore http_proxy & co: a probe always talks to the container itself.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_probe(*, url: str, timeout: float, host: str | None, json_body: str | None = None) -> tuple[bool, str]:
    if not url.startswith(("http://", "https://")):
        return False, f"{url}: only http(s) URLs are probed"
    data = None if json_body is None else json_body.encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if host:
        request.add_header("Host", host)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        return False, f"{url} answered {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"{url} unreachable: {error}"
    return 200 <= status < 300, f"{url} answered {status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--host", default=None, help="Host header to send (default: from the URL)")
    parser.add_argument("--json", default=None, help="POST this JSON body instead of a GET")
    args = parser.parse_args(argv)
    healthy, detail = http_probe(url=args.url, timeout=args.timeout, host=args.host, json_body=args.json)
    print(detail)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
