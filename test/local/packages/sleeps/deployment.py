"""Sleeps, recording wall-clock timestamps.

data: {"seconds": float, "marker_dir": optional str, "peers": optional int, "name": optional str}
Writes "<start time> <pid>" to <marker_dir>/<name>.started when it starts (so a test knows it is running).
With "peers", it then waits (at most 30 s) until that many .started markers exist, which only happens if the
requests run concurrently.
"""

import os
import time


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        start = time.time()
        marker_dir = data.get("marker_dir")
        if marker_dir:
            with open(os.path.join(marker_dir, f"{data.get('name', 'sleep')}.started"), "w") as f:
                f.write(f"{start} {os.getpid()}")
        met = None
        if data.get("peers"):
            give_up = time.monotonic() + 30
            while time.monotonic() < give_up:
                if sum(n.endswith(".started") for n in os.listdir(marker_dir)) >= data["peers"]:
                    met = True
                    break
                time.sleep(0.01)
            else:
                met = False
        time.sleep(data.get("seconds", 0))
        return {"start": start, "end": time.time(), "pid": os.getpid(), "met_peers": met}
