"""`__init__(self, context)` without base_directory; returns the process_id it was given."""


class Deployment:
    def __init__(self, context):
        self.process_id = context["process_id"]

    def request(self, data):
        return {"process_id": self.process_id}
