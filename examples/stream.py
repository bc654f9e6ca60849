"""Partial results while the deployment runs: `stream_request`.

A deployment streams by calling ``context["streaming_update"](text)`` in its ``request`` method; the client gets
each text as it is sent, then the final response. The bundled `echo` sends no partial results, so against it
you see only the final response.

    ubiops-local serve            # then export the two lines it prints
    python examples/stream.py [deployment] [text]
"""

import os
import sys

import ubiops
from ubiops.utils import stream_request

PROJECT = os.environ.get("UBIOPS_PROJECT", "local")


def main() -> None:
    deployment = sys.argv[1] if len(sys.argv) > 1 else "echo"
    data = sys.argv[2] if len(sys.argv) > 2 else "hello, stream"
    with ubiops.ApiClient() as api_client:
        core_api = ubiops.CoreApi(api_client)
        for part in stream_request(core_api, PROJECT, deployment, data, timeout=300):
            if isinstance(part, str):
                print(f"partial: {part}", flush=True)
            else:
                print(f"final: {part.status}, result {part.result!r}")


if __name__ == "__main__":
    main()
