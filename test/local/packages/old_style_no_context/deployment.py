"""Old-style signatures: `__init__(self)` and `request(self, data)`; list data goes to request() per item."""


class Deployment:
    def __init__(self):
        self.loaded = True

    def request(self, data):
        return {"via": "request", "item": data, "loaded": self.loaded}
