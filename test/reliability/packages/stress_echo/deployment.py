"""Test package of the stress test (plain in/out): appends the request id as one line to the file named by
$RECORD_FILE (one line per run), works 5 ms (so that kills and stops find runs in progress), then returns the input
plus the marker "|ran"."""

import os
import time

MARKER = "|ran"


class Deployment:
    def __init__(self, base_directory, context):
        self.record_file = os.environ["RECORD_FILE"]

    def request(self, data, context):
        with open(self.record_file, "a") as record:
            record.write(f"{context['id']}\n")
        time.sleep(0.005)
        return data + MARKER
