"""Exit 0 when an HTTP GET answers 2xx in time, 1 otherwise: a curl-free probe for Docker HEALTHCHECK.

Usage: python http_probe.py URL [--timeout SECONDS] [--host HOST_HEADER]
Only the standard library is used, so any image with a Python interpreter can run it.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

# Ignore http_proxy & co: a probe always talks to the container itself.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_probe(*, url: str, timeout: float, host: str | None) -> tuple[bool, str]:
    if not url.startswith(("http://", "https://")):
        return False, f"{url}: only http(s) URLs are probed"
    request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked above
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
    args = parser.parse_args(argv)
    healthy, detail = http_probe(url=args.url, timeout=args.timeout, host=args.host)
    print(detail)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
