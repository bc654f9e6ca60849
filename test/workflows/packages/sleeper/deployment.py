"""Plain in and out: says so in its log, sleeps the number of seconds given as text, then returns it."""

import time


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        print(f"sleeping {data} s", flush=True)
        time.sleep(float(data))
        return data
