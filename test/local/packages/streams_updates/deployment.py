"""Sends data["n"] streaming updates ("part 0", "part 1", ...; one with a newline), then returns a summary."""


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        for i in range(data["n"]):
            context["streaming_update"](f"part {i}")
        context["streaming_update"]("two\nlines")
        return {"sent": data["n"] + 1}
