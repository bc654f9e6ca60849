"""Ignores SIGTERM, so only SIGKILL stops it; the request writes "<start> <pid>" to data["marker"], then sleeps."""

import os
import signal
import time


class Deployment:
    def __init__(self, base_directory, context):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def request(self, data, context):
        with open(data["marker"], "w") as f:
            f.write(f"{time.time()} {os.getpid()}")
        time.sleep(data["seconds"])
        return {"pid": os.getpid()}
