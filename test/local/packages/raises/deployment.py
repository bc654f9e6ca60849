"""Raises: data "empty" raises an exception without a message, anything else a ValueError naming the data."""


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        if data == "empty":
            raise KeyError()
        if data == "ok":
            return "fine"
        raise ValueError(f"cannot handle {data}")
