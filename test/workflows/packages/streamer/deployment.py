"""Streams data["n"] partial updates "part 0" .. "part n-1" and returns {"parts": n}.

After "part 0" it waits (at most 20 s) until the file data["gate"] exists, so a test can prove that the first part
reached the client while the deployment was still running. n < 0 raises, so the request fails.
"""

import os
import time


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        n = data["n"]
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        for i in range(n):
            context["streaming_update"](f"part {i}")
            if i == 0 and data["gate"]:
                deadline = time.monotonic() + 20
                while not os.path.exists(data["gate"]) and time.monotonic() < deadline:
                    time.sleep(0.01)
        return {"parts": n}
