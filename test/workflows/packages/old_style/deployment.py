"""An older package: __init__(self) and request(self, data), no context anywhere."""


class Deployment:
    def __init__(self):
        self.calls = 0

    def request(self, data):
        self.calls += 1
        if data.get("fail"):
            raise ValueError("asked to fail")
        return {"double": data["x"] * 2, "calls": self.calls}
