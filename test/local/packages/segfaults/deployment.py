"""Data "crash" reads address 0 through ctypes (SIGSEGV); anything else is echoed with the pid."""

import ctypes
import os


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        if data == "crash":
            ctypes.string_at(0)
        return {"data": data, "pid": os.getpid()}
