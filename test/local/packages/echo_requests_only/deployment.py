"""Only `requests`: each output records that it came from requests() and how many items the call got."""


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def requests(self, data, context):
        size = len(data)
        return [{"via": "requests", "batch_size": size, "item": item, "context_id": context["id"]} for item in data]
