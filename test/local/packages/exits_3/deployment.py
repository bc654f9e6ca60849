"""Data "die" ends the process with os._exit(3); anything else is echoed with the pid."""

import os


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        if data == "die":
            os._exit(3)
        return {"data": data, "pid": os.getpid()}
