"""Both `request` and `requests`; the output says which one handled the data."""


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        return {"via": "request", "item": data}

    def requests(self, data, context):
        return [{"via": "requests", "batch_size": len(data), "item": item} for item in data]
