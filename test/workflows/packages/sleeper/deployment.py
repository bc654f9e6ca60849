"""Plain in and out: sleeps the number of seconds given as text, then returns it."""

import time


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        time.sleep(float(data))
        return data
