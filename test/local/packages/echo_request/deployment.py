"""Echo: returns the request data unchanged (modern signatures, `request` only)."""


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        return data
