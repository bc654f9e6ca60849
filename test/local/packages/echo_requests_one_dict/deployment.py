"""`requests` that answers the whole list with one dict (allowed by the package convention)."""


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def requests(self, data):
        return {"count": len(data)}
